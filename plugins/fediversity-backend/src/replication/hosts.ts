import { HostSpec } from '@fediversity/plugin-fediversity-common';
import {
  knownHostsLine,
  parsePublicKeyLine,
  PeerEndpoint,
  sha256Fingerprint,
  SshConnection,
  WRITE_PRIVATE_FILE_SCRIPT,
} from '@fediversity/plugin-fediversity-node';
import { CommandRunner } from './commandRunner';

export interface ConnectedHost {
  runner: CommandRunner;
  close(): void;
}

/** Opens a command runner on a host of a schedule (SSH with the pinned key, in production). */
export type HostConnector = (host: HostSpec, signal: AbortSignal) => Promise<ConnectedHost>;

/** The portal's own SSH key reaches every enrolled host; the host key is pinned from the schedule. */
export function sshHostConnector(privateKey: () => Promise<string>): HostConnector {
  return async host => {
    const connection = await SshConnection.connect({
      host: host.host,
      port: host.port,
      username: host.username,
      hostKey: sha256Fingerprint(parsePublicKeyLine(host.hostPublicKey).blob),
      privateKey: await privateKey(),
    });
    return { runner: connection, close: () => connection.close() };
  };
}

/**
 * Lets `from` reach `to` over SSH for a host-to-host transfer: writes a known_hosts file holding only `to`'s pinned
 * key on `from` (removed by the returned cleanup) and returns the endpoint for rsync/zfs pipes.
 */
export async function trustPeer(
  from: { runner: CommandRunner; spec: HostSpec },
  to: HostSpec,
  runId: string,
  signal?: AbortSignal,
): Promise<{ peer: PeerEndpoint; cleanup(): Promise<void> }> {
  const knownHostsFile = `/tmp/fediversity-${runId.replace(/[^A-Za-z0-9-]/g, '')}.known_hosts`;
  await from.runner.run(['sh', '-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', knownHostsFile], {
    stdin: knownHostsLine(to.host, to.port, to.hostPublicKey),
    signal,
  });
  return {
    peer: {
      host: to.host,
      port: to.port,
      username: to.username,
      knownHostsFile,
      identityFile: from.spec.peerIdentityFile,
    },
    cleanup: async () => {
      await from.runner.run(['rm', '-f', '--', knownHostsFile]).catch(() => undefined);
    },
  };
}
