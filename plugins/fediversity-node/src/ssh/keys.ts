import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { utils } from 'ssh2';

export interface SshKeyPair {
  /** OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
}

const GENERATION_ATTEMPTS = 16;

/**
 * ssh2's generator writes an ed25519 key it cannot read back about once in 256 keys (mscdex/ssh2#1390): such a
 * key, saved as a demo host key, would keep the server from ever starting. Only a pair that parses and signs is
 * returned.
 */
export function generateSshKeyPair(comment = ''): SshKeyPair {
  for (let attempt = 0; attempt < GENERATION_ATTEMPTS; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (isUsableKeyPair(pair.private, pair.public)) {
      return { privateKey: pair.private, publicKey: pair.public.trim() };
    }
  }
  throw new Error(`ssh2 generated ${GENERATION_ATTEMPTS} unusable ed25519 key pairs in a row`);
}

function isUsableKeyPair(privateKey: string, publicKey: string): boolean {
  const parsedPrivate = utils.parseKey(privateKey);
  const parsedPublic = utils.parseKey(publicKey);
  if (parsedPrivate instanceof Error || parsedPublic instanceof Error) return false;
  const probe = Buffer.from('fediversity key check');
  const signature = parsedPrivate.sign(probe);
  return !(signature instanceof Error) && parsedPublic.verify(probe, signature) === true;
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
