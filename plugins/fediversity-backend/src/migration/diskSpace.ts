import { posix } from 'node:path';
import { HostShell } from './hosts';

/** Free bytes and mount point of the file system that holds `path` (or its nearest existing ancestor). */
export async function freeSpace(
  host: HostShell,
  path: string,
  signal: AbortSignal,
): Promise<{ availableBytes: number; mountPoint: string }> {
  for (let candidate = path; ; candidate = posix.dirname(candidate)) {
    const result = await host.run(['df', '-B1', '--output=avail,target', '--', candidate], {
      signal,
      check: false,
    });
    if (result.exitCode === 0) {
      const [available, mountPoint] = result.stdout.trim().split('\n').pop()!.trim().split(/\s+/);
      return { availableBytes: Number(available), mountPoint };
    }
    if (candidate === '/') throw new Error(`df failed on ${host.role}: ${result.stderr.trim()}`);
  }
}

/** Bytes under the given paths on a host (`du -sb`); missing paths count as 0. */
export async function usedBytes(host: HostShell, paths: string[], signal: AbortSignal): Promise<number> {
  let total = 0;
  for (const path of paths) {
    const result = await host.run(['du', '-s', '-B1', '--', path], { signal, check: false });
    if (result.exitCode === 0) total += Number(result.stdout.trim().split(/\s+/)[0]);
  }
  return total;
}
