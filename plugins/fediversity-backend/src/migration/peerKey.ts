import { posix } from 'node:path';
import { InputError } from '@backstage/errors';
import {
  AUTHORISE_KEY_SCRIPT,
  generateSshKeyPair,
  REVOKE_KEY_SCRIPT,
  WRITE_PRIVATE_FILE_SCRIPT,
} from '@fediversity/plugin-fediversity-node';
import { HostShell } from './hosts';
import { MIGRATION_KEY_NAME } from './params';

type PeerHosts = { source: HostShell; target: HostShell };

/** The comment of a key pair made for a migration: the name of its private half's file. */
function migrationKeyName(identityFile: string): string {
  const name = posix.basename(identityFile);
  if (!MIGRATION_KEY_NAME.test(name)) {
    throw new InputError(`${identityFile} is not a key made for a migration (fediversity-migration-<8 hex>)`);
  }
  return name;
}

/**
 * Lets the source log in to a target made for this migration, for the host-to-host copy: a key pair made
 * now, its private half written to `identityFile` on the source (only its owner may read it), its public
 * half, commented with the file's name, added to the target user's authorized_keys (next to the portal's own
 * key). Idempotent apart from the key: a rerun writes a new pair, and the target then also accepts the one
 * before, until revokePeerKey takes both out.
 */
export async function authorisePeerKey(
  hosts: PeerHosts,
  identityFile: string,
  options: { registerSecret: (value: string) => void; signal?: AbortSignal },
) {
  const { source, target } = hosts;
  const { signal } = options;
  // A plain path's last part (letters, digits, `_.+-`) is one word: the comment revokePeerKey looks for.
  const keys = generateSshKeyPair(posix.basename(identityFile));
  options.registerSecret(keys.privateKey);
  await source.run(['mkdir', '-p', '-m', '700', '--', posix.dirname(identityFile)], { signal });
  await source.run(['sh', '-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', identityFile], { stdin: keys.privateKey, signal });
  await target.run(['sh', '-c', AUTHORISE_KEY_SCRIPT, 'sh', keys.publicKey], { signal });
}

/**
 * Ends what a migration's own key pair allowed: every key with its comment leaves the target's
 * authorized_keys and its private half leaves the source, whose disk and backups would otherwise keep a
 * login to the target. Idempotent: a rerun finds nothing left to remove. A host that cannot be reached does
 * not stop the other's part: what was left is answered, for the operator to remove by hand.
 */
export async function revokePeerKey(hosts: PeerHosts, identityFile: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const name = migrationKeyName(identityFile);
  const left: string[] = [];
  const attempt = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      left.push(`${what} (${(error as Error).message})`);
    }
  };
  await attempt(`keys commented ${name} in the target's authorized_keys`, () =>
    hosts.target.run(['sh', '-c', REVOKE_KEY_SCRIPT, 'sh', name], { signal: options.signal }),
  );
  await attempt(`${identityFile} on the source`, () => hosts.source.run(['rm', '-f', '--', identityFile], { signal: options.signal }));
  return left;
}
