import { posix } from 'node:path';
import { SshConnection } from '@fediversity/plugin-fediversity-node';
import { MigrationHost } from './params';

export type HostRole = 'source' | 'target';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions {
  signal?: AbortSignal;
  /** Throw on a non-zero exit (default true). */
  check?: boolean;
  stdin?: string;
}

/** One host as the migration sees it: argv commands, never shell strings. */
export interface HostShell {
  readonly role: HostRole;
  run(argv: readonly string[], options?: RunCommandOptions): Promise<CommandResult>;
}

export interface ConnectedHost extends HostShell {
  close(): Promise<void>;
}

/** Opens a session to a host with its pinned key; injected so unit tests run without SSH. */
export type HostConnector = (role: HostRole, host: MigrationHost, signal: AbortSignal) => Promise<ConnectedHost>;

/** Resolves a `{ secretRef }` to its value (e.g. from Backstage config secrets). */
export type SecretResolver = (ref: string) => Promise<string>;

/** The real connector: an SshConnection per host and step, host key pinned. */
export function sshHostConnector(resolveSecret: SecretResolver, registerSecret?: (value: string) => void): HostConnector {
  return async (role, host) => {
    const privateKey = await resolveSecret(host.privateKey.secretRef);
    registerSecret?.(privateKey);
    const connection = await SshConnection.connect({
      host: host.host,
      port: host.port,
      username: host.username,
      hostKey: host.hostKey,
      privateKey,
      keepaliveIntervalMs: 5_000,
    });
    return {
      role,
      async run(argv, options = {}) {
        const result = await connection.run(argv, {
          signal: options.signal,
          check: options.check ?? true,
          stdin: options.stdin,
        });
        return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
      },
      close: async () => connection.close(),
    };
  };
}

/** A data path of the app (`/var/lib/forgejo`) on a host, below the host's path prefix. */
export function hostPath(host: MigrationHost, appPath: string): string {
  return posix.join(host.pathPrefix, appPath);
}

/** Runs argv as another OS user when the SSH user differs (root → `runuser -u postgres --`). */
export function asUser(host: MigrationHost, osUser: string, argv: readonly string[]): string[] {
  return host.username === osUser ? [...argv] : ['runuser', '-u', osUser, '--', ...argv];
}
