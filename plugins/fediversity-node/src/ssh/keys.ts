import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { utils } from 'ssh2';

export interface SshKeyPair {
  /** OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
}

export function generateSshKeyPair(comment = ''): SshKeyPair {
  const pair = utils.generateKeyPairSync('ed25519', { comment });
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}

/**
 * Reads `<path>` and `<path>.pub`, creating them (0600 / 0644) on first use. Used for keys that
 * must survive restarts: a demo host's host key stays pinned, the portal's demo identity stays
 * authorised.
 */
export async function loadOrCreateSshKeyPair(privateKeyPath: string, comment = ''): Promise<SshKeyPair> {
  try {
    const [privateKey, publicKey] = await Promise.all([
      readFile(privateKeyPath, 'utf8'),
      readFile(`${privateKeyPath}.pub`, 'utf8'),
    ]);
    return { privateKey, publicKey: publicKey.trim() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = generateSshKeyPair(comment);
  await mkdir(dirname(privateKeyPath), { recursive: true, mode: 0o700 });
  // wx: if another process created the key meanwhile, fail rather than replace a pinned key.
  await writeFile(privateKeyPath, pair.privateKey, { mode: 0o600, flag: 'wx' });
  await writeFile(`${privateKeyPath}.pub`, `${pair.publicKey}\n`, { mode: 0o644, flag: 'wx' });
  return pair;
}
