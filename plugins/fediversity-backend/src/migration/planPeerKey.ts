import { randomBytes } from 'node:crypto';
import { generateSshKeyPair, SshConnection } from '@fediversity/plugin-fediversity-node';
import type { PlannedHost } from './planMigration';

export type HostLogin = PlannedHost & { privateKey: string };

/** Lets the source log in to the target for the host-to-host copy; answers the key file's path on the source. */
export type PeerKeyInstaller = (source: HostLogin, target: HostLogin) => Promise<string>;

/**
 * A key pair made for one migration: the private half goes to the source (where the migration's rsync reads it),
 * the public half is the new target guest's `authorized_keys` (the guest was just made for this migration, so
 * nothing else is authorised there). The portal's own key never leaves the portal.
 */
export function sshPeerKeyInstaller(): PeerKeyInstaller {
  return async (source, target) => {
    const name = `fediversity-migration-${randomBytes(4).toString('hex')}`;
    const keys = generateSshKeyPair(name);
    const identityFile = `/root/.ssh/${name}`;
    // ssh ignores a private key others may read: written over SFTP with its mode set before it is in place.
    await withLogin(source, connection => connection.uploadFile(identityFile, keys.privateKey, { mode: 0o600, mkdirs: true }));
    await withLogin(target, connection =>
      connection.uploadFile('/root/.ssh/authorized_keys', `${keys.publicKey}\n`, { mode: 0o600, mkdirs: true }),
    );
    return identityFile;
  };
}

async function withLogin(host: HostLogin, fn: (connection: SshConnection) => Promise<void>): Promise<void> {
  const connection = await SshConnection.connect({
    host: host.host,
    port: host.port,
    username: host.username,
    hostKey: host.hostKeyFingerprint,
    privateKey: host.privateKey,
  });
  try {
    await fn(connection);
  } finally {
    await connection.close();
  }
}
