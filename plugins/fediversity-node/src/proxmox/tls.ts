import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { InputError } from '@backstage/errors';

/**
 * How to trust one cluster's API certificate. PVE certificates are usually self-signed, so either the cluster CA
 * (`pve-root-ca.pem`) or the SHA-256 fingerprint of the leaf certificate is pinned. Nothing here touches
 * process-wide TLS settings.
 */
export interface PveTlsOptions {
  /** PEM of the CA that issued the API certificate; the chain and host name are verified against it. */
  caPem?: string;
  /** SHA-256 fingerprint of the API certificate (`AA:BB:…`, colons optional, any case). */
  fingerprint?: string;
}

export class PveTlsPinError extends Error {
  name = 'PveTlsPinError' as const;
  code = 'ERR_PVE_TLS_PIN';
}

export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new InputError(
      'A certificate fingerprint must be a SHA-256 hash: 64 hex digits, colons optional',
    );
  }
  return hex.match(/../g)!.join(':');
}

/**
 * An https.Agent for one cluster. With `caPem` the normal verification runs against that CA only. With only a
 * `fingerprint` the chain cannot verify (self-signed), so this agent alone skips chain verification and instead
 * compares the leaf certificate's SHA-256 fingerprint; the socket is handed to the request only after that check,
 * so no request byte (and no token) is written to an unverified peer. With both, both must hold.
 */
export function createPinnedAgent(options: PveTlsOptions): https.Agent {
  if (!options.caPem && !options.fingerprint) {
    throw new InputError(
      'A Proxmox cluster needs caPem or fingerprint to pin its certificate',
    );
  }
  const pinned = options.fingerprint
    ? normalizeFingerprint(options.fingerprint)
    : undefined;
  // Idle sockets are closed after 4 s, so a write rarely lands on a socket the server is already closing: such a
  // write fails ambiguously and is never retried.
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    scheduling: 'lifo',
    timeout: 4_000,
  });

  agent.createConnection = (
    connectOptions: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ) => {
    const socket = tls.connect({
      host: connectOptions.host ?? undefined,
      port: Number(connectOptions.port),
      servername: (connectOptions as tls.ConnectionOptions).servername,
      ca: options.caPem,
      rejectUnauthorized: Boolean(options.caPem),
    });
    let settled = false;
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      socket.off('error', settle);
      callback!(err, socket);
    };
    socket.once('error', settle);
    socket.once('secureConnect', () => {
      if (pinned) {
        const actual = socket.getPeerCertificate().fingerprint256;
        if (actual !== pinned) {
          const err = new PveTlsPinError(
            `Certificate fingerprint ${actual} does not match the pinned ${pinned}`,
          );
          settle(err);
          socket.destroy();
          return;
        }
      }
      settle(null);
    });
    return undefined;
  };
  return agent;
}
