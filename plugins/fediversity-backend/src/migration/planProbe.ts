import { posix } from 'node:path';
import { SshConnection } from '@fediversity/plugin-fediversity-node';
import type { HostProbe } from './planner';

/**
 * The preflight's look at the source: an SSH login with the pinned host key, then `test -d` per data directory.
 * Nothing on the host changes.
 */
export function sshHostProbe(options: { readyTimeoutMs?: number } = {}): HostProbe {
  return async (host, directories) => {
    let connection: SshConnection;
    try {
      connection = await SshConnection.connect({
        host: host.host,
        port: host.port,
        username: host.username,
        hostKey: host.hostKeyFingerprint,
        privateKey: host.privateKey,
        readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      });
    } catch (error) {
      return { reachable: false, missing: [], error: (error as Error).message };
    }
    try {
      const missing: string[] = [];
      for (const directory of directories) {
        const result = await connection.run(['test', '-d', posix.normalize(directory)], { check: false });
        if (result.exitCode !== 0) missing.push(directory);
      }
      return { reachable: true, missing };
    } catch (error) {
      return { reachable: false, missing: [], error: (error as Error).message };
    } finally {
      await connection.close();
    }
  };
}
