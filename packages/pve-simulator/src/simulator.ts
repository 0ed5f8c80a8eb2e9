import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { SimulatorCore } from './api/core';
import { allRoutes } from './api/routes';
import { schemaKey } from './api/route';
import { ApiServer } from './api/server';
import { Clock, systemClock } from './clock';
import { FaultInjector } from './faults';
import { loadApidocMethodSchemas } from './schema/apidoc';
import { builtinMethodSchemas } from './schema/builtin';
import { createFormatRegistry } from './schema/formats';
import { ParameterValidator } from './schema/validate';
import { ClusterState } from './state/cluster';
import { createSelfSignedCertificate } from './tls';
import { addToken, buildCluster, readTopologyFile, TopologySpec } from './topology';

/** Which rules validate requests: the simulator's own, or the official schema file. */
export type ValidationMode = 'builtin' | { apidoc: string };

export interface PveSimulatorOptions {
  /** A topology object or a YAML file; default: topologies/demo.yaml. */
  topology?: TopologySpec | string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: only loopback unless asked. */
  host?: string;
  /** Plain HTTP instead of HTTPS with a self-signed certificate. */
  http?: boolean;
  /** Task speed factor: 10 makes every task ten times faster. Default 1. */
  speed?: number;
  /**
   * API tokens `user@realm!id=SECRET` (privsep 0); the first is returned as `token`. A user the
   * topology does not define gets Administrator on `/`. Default: one fresh `root@pam!fediversity` token.
   */
  tokens?: string[];
  /** Time source for tasks; default the system clock. */
  clock?: Clock;
  validation?: ValidationMode;
  /** Delay of 401 answers; default 3000 ms as PVE. */
  authFailureDelayMs?: number;
}

export interface PveSimulator {
  /** Base URL, e.g. https://127.0.0.1:8006 (the API is under /api2/json). */
  url: string;
  /** `PVEAPIToken` value: `root@pam!fediversity=<uuid>`. */
  token: string;
  /** sha256 fingerprint of the certificate (colon hex); undefined with `http`. */
  fingerprint?: string;
  /** The self-signed certificate (PEM) to pin; undefined with `http`. */
  caPem?: string;
  faults: FaultInjector;
  state: ClusterState;
  close(): Promise<void>;
}

// eslint-disable-next-line no-restricted-syntax -- one level up from src/ (npm start, tests) and from dist/ (a build) is the package root, which ships topologies/ (package.json files)
export const DEMO_TOPOLOGY = path.resolve(__dirname, '..', 'topologies', 'demo.yaml');

export function implementedMethodKeys(): string[] {
  return allRoutes().map(schemaKey);
}

function parseTokenArgument(token: string): { id: string; secret: string } {
  const index = token.lastIndexOf('=');
  if (index < 0 || !token.slice(0, index).includes('!')) throw new Error(`token '${token}': expected user@realm!tokenid=SECRET`);
  return { id: token.slice(0, index), secret: token.slice(index + 1) };
}

export async function startPveSimulator(options: PveSimulatorOptions = {}): Promise<PveSimulator> {
  const clock = options.clock ?? systemClock;
  const spec = typeof options.topology === 'object' ? options.topology : readTopologyFile(options.topology ?? DEMO_TOPOLOGY);
  const state = buildCluster(spec, clock.now());
  const tokens = (options.tokens ?? [`root@pam!fediversity=${crypto.randomUUID()}`]).map(parseTokenArgument);
  for (const token of tokens) {
    // A token given on the command line is for the portal: a user the topology does not
    // define gets Administrator on `/`; the token shares its user's rights (privsep 0).
    const userid = token.id.split('!')[0];
    if (!state.users.has(userid)) state.users.set(userid, { userid, acl: [{ path: '/', roles: ['Administrator'], propagate: true }] });
    addToken(state, { id: token.id, secret: token.secret, privsep: false });
  }

  const builtin = builtinMethodSchemas();
  const validation = options.validation ?? 'builtin';
  const schemas = validation === 'builtin' ? builtin : loadApidocMethodSchemas(validation.apidoc, implementedMethodKeys());
  const faults = new FaultInjector(state);
  const host = options.host ?? '127.0.0.1';
  const certificate = options.http ? undefined : createSelfSignedCertificate(host);
  const core = new SimulatorCore(
    state,
    clock,
    faults,
    new ParameterValidator(createFormatRegistry()),
    schemas,
    builtin,
    options.speed ?? 1,
    certificate?.fingerprint,
    certificate?.certPem,
  );
  const api = new ApiServer(core, allRoutes(), { authFailureDelayMs: options.authFailureDelayMs ?? 3000 });
  const server = certificate
    ? https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, api.listener)
    : http.createServer(api.listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${certificate ? 'https' : 'http'}://${urlHost}:${port}`,
    token: `${tokens[0].id}=${tokens[0].secret}`,
    fingerprint: certificate?.fingerprint,
    caPem: certificate?.certPem,
    faults,
    state,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
        api.close();
      }),
  };
}
