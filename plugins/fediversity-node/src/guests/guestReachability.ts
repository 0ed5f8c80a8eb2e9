import { isIPv4 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PveClient } from '../proxmox';
import { HostKeyMismatchError } from '../ssh';

const MAX_POLL_MS = 5_000;

export interface RetryUntilOptions {
  /** Epoch ms after which the last error is thrown. */
  deadline: number;
  /** The first pause between attempts; it grows by half up to 5 s. */
  pollInitialMs: number;
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it succeeds; after the deadline the last error, as "Gave up waiting: …". A host that
 * presents another key than the pinned one will not change its mind: that error ends it at once.
 */
export async function retryUntil<T>(options: RetryUntilOptions, attempt: () => Promise<T>): Promise<T> {
  const { deadline, signal } = options;
  let interval = options.pollInitialMs;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      if (error instanceof HostKeyMismatchError) throw error;
      if (Date.now() + interval > deadline) throw new Error(`Gave up waiting: ${(error as Error).message}`);
    }
    // The wait ends with the signal's own reason (a cancellation says why), not a generic AbortError.
    await sleep(interval, undefined, { signal }).catch(error => {
      throw signal?.reason ?? error;
    });
    interval = Math.min(MAX_POLL_MS, Math.round(interval * 1.5));
  }
}

/** Polls a container's interfaces (Proxmox) until a non-loopback IPv4 address shows up. */
export async function waitForGuestAddress(
  client: PveClient,
  guest: { node: string; vmid: number },
  options: RetryUntilOptions,
): Promise<string> {
  return retryUntil(options, async () => {
    const interfaces = await client.getContainerInterfaces(guest, { signal: options.signal });
    const address = interfaces
      .filter(entry => entry.name !== 'lo' && entry.inet)
      .map(entry => entry.inet!.split('/')[0])
      .find(candidate => isIPv4(candidate));
    if (!address) throw new Error(`guest ${guest.vmid} has no IPv4 address yet`);
    return address;
  });
}
