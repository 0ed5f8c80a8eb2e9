import { enrollHostKey, PveClustersService, retryUntil, waitForGuestAddress } from '@fediversity/plugin-fediversity-node';
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
