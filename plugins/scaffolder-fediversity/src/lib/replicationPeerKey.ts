import { generateSshKeyPair, SshConnection } from '@fediversity/plugin-fediversity-node';

/** An SSH login the portal has: where, as whom, the pinned host key and the portal's private key. */
export interface PortalLogin {
  host: string;
  port: number;
  username: string;
  hostKey: string;
  privateKey: string;
}

/** Where the source guest keeps the key it pushes replicas with (read by replication runs' rsync/ssh). */
export const REPLICATION_PEER_KEY_FILE = '/root/.ssh/fediversity-replication';
const AUTHORIZED_KEYS = '/root/.ssh/authorized_keys';
const WRITE_ATTEMPTS = 3;

/**
 * Lets a source guest push replicas to a target it has no key for: a key pair made for this guest, the private
 * half written to the source (0600, over SFTP), the public half added to the target's authorized_keys (kept if
 * already there, checked after writing since other provisionings may add theirs at the same time). The
 * portal's own key never leaves the portal. Answers the key file's path on the source.
 */
export async function installReplicationPeerKey(source: PortalLogin, target: PortalLogin, comment: string): Promise<string> {
  const keys = generateSshKeyPair(comment);
  // Two hosts, independent writes: at once, since each login costs a handshake.
  await Promise.all([
    withLogin(source, connection =>
      connection.uploadFile(REPLICATION_PEER_KEY_FILE, keys.privateKey, { mode: 0o600, mkdirs: true }),
    ),
    authorize(target, keys.publicKey),
  ]);
  return REPLICATION_PEER_KEY_FILE;
}

async function authorize(target: PortalLogin, publicKey: string): Promise<void> {
  await withLogin(target, async connection => {
    for (let attempt = 1; ; attempt++) {
      const current = (await connection.run(['cat', AUTHORIZED_KEYS], { check: false })).stdout;
      if (current.split('\n').includes(publicKey)) return;
      if (attempt > WRITE_ATTEMPTS) {
        throw new Error(`Could not add the replication key to ${target.host}:${target.port} ${AUTHORIZED_KEYS}`);
      }
      const lines = current.split('\n').filter(line => line.trim() !== '');
      await connection.uploadFile(AUTHORIZED_KEYS, `${[...lines, publicKey].join('\n')}\n`, { mode: 0o600, mkdirs: true });
    }
  });
}

async function withLogin<T>(login: PortalLogin, fn: (connection: SshConnection) => Promise<T>): Promise<T> {
  const connection = await SshConnection.connect(login);
  try {
    return await fn(connection);
  } finally {
    connection.close();
  }
}
