import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { createNixInstantiate, isNixInstantiateAvailable, type NixInstantiate } from '../nix';
import { loadOrCreateSshKeyPair, type SshKeyPair } from '../ssh/keys';
import { DemoHostServer } from './DemoHostServer';
import { defaultDemoCommands } from './commands';

export interface DemoHosts {
  server: DemoHostServer;
  /** The portal's identity towards the demo hosts (persisted beside them). */
  clientKey: SshKeyPair;
  /** Whether `nixos-rebuild` parse-checks uploaded configurations. */
  parseChecks: boolean;
  stop(): Promise<void>;
}

/**
 * The embedded default: a demo host server under `dataDir` with the default commands, a persisted
 * client key for the portal, the same port as last time when it is free, and nix-instantiate
 * parse checks where it is installed.
 */
export async function startDemoHosts(options: {
  dataDir: string;
  port?: number;
  logger?: LoggerService;
}): Promise<DemoHosts> {
  const clientKey = await loadOrCreateSshKeyPair(join(options.dataDir, 'portal_ed25519'), 'fediversity-portal-demo');
  let nix: NixInstantiate | undefined;
  if (await isNixInstantiateAvailable()) nix = await createNixInstantiate();
  else options.logger?.info('Demo hosts: nix-instantiate not found, uploaded configurations are not parse-checked');
  const start = (port: number | undefined) =>
    DemoHostServer.start({
      dataDir: options.dataDir,
      port,
      authorizedKey: clientKey.publicKey,
      commands: defaultDemoCommands({ nixInstantiate: nix }),
      logger: options.logger,
    });
  // Endpoints recorded for guests name the port, so reuse the last one unless told otherwise.
  const portFile = join(options.dataDir, 'port');
  const previousPort = Number(await readFile(portFile, 'utf8').catch(() => '')) || undefined;
  let server: DemoHostServer;
  if (options.port !== undefined) {
    server = await start(options.port);
  } else {
    server = await start(previousPort).catch(async err => {
      if (previousPort === undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      options.logger?.warn(`Demo hosts: port ${previousPort} is taken; endpoints recorded before now are stale`);
      return start(undefined);
    });
  }
  await writeFile(portFile, `${server.port}\n`);
  options.logger?.info(`Demo hosts listening on ${server.host}:${server.port} (host key ${server.hostKey.fingerprint})`);
  return {
    server,
    clientKey,
    parseChecks: nix !== undefined,
    stop: async () => {
      await server.stop();
      await nix?.close();
    },
  };
}
