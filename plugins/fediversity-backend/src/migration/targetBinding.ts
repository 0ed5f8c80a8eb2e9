import { posix } from 'node:path';
import {
  AUTHORISE_KEY_SCRIPT,
  enrollHostKey,
  generateSshKeyPair,
  PveClustersService,
  retryUntil,
  waitForGuestAddress,
  WRITE_PRIVATE_FILE_SCRIPT,
} from '@fediversity/plugin-fediversity-node';
import { HostShell } from './hosts';
import { LateBoundTarget, TargetEndpoint } from './params';

export interface BindTargetContext {
  cluster: string;
  guest: { vmid: number; node: string };
  target: LateBoundTarget;
  signal: AbortSignal;
}

/** Finds a new target guest's address and pins the host key it presents first (trust on first use). */
export interface TargetBinder {
  bind(ctx: BindTargetContext): Promise<TargetEndpoint>;
}

export interface ProxmoxTargetBinderOptions {
  /** How long a new guest may take to get an address and start sshd (default 10 min). */
  timeoutMs?: number;
  pollInitialMs?: number;
}

/** The guest's IPv4 address from Proxmox (its interfaces), then the key its sshd presents there. */
export function proxmoxTargetBinder(clusters: PveClustersService, options: ProxmoxTargetBinderOptions = {}): TargetBinder {
  return {
    async bind(ctx) {
      const { client } = clusters.get(ctx.cluster);
      const retry = { deadline: Date.now() + (options.timeoutMs ?? 600_000), pollInitialMs: options.pollInitialMs ?? 1_000, signal: ctx.signal };
      const address = await waitForGuestAddress(client, ctx.guest, retry);
      const { port, username } = ctx.target;
      const key = await retryUntil(retry, () => enrollHostKey({ host: address, port, timeoutMs: 10_000 }));
      return { address, host: address, port, username, hostPublicKey: key.publicKey, hostKeyFingerprint: key.fingerprint };
    },
  };
}

/**
 * Lets the source log in to a target made for this migration, for the host-to-host copy: a key pair made
 * now, its private half written to `identityFile` on the source (only its owner may read it), its public
 * half added to the target user's authorized_keys (next to the portal's own key). Idempotent apart from
 * the key: a rerun writes a new pair, and the target then also accepts the one before.
 */
export async function authorisePeerKey(
  hosts: { source: HostShell; target: HostShell },
  identityFile: string,
  options: { comment: string; registerSecret: (value: string) => void; signal?: AbortSignal },
) {
  const { source, target } = hosts;
  const { signal } = options;
  const keys = generateSshKeyPair(options.comment);
  options.registerSecret(keys.privateKey);
  await source.run(['mkdir', '-p', '-m', '700', '--', posix.dirname(identityFile)], { signal });
  await source.run(['sh', '-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', identityFile], { stdin: keys.privateKey, signal });
  await target.run(['sh', '-c', AUTHORISE_KEY_SCRIPT, 'sh', keys.publicKey], { signal });
}
