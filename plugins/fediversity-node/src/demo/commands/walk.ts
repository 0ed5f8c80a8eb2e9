import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface WalkEntry {
  /** Local path. */
  path: string;
  /** Path relative to the walk's start ('' for the start itself). */
  relative: string;
  /** From lstat: a symlink is reported as one and never followed. */
  stats: Stats;
  depth: number;
}

/**
 * Pre-order walk like `find -P`: the start first, then every entry below it, descending only into
 * real directories, so a symlink can never lead the walk out of a guest.
 */
export async function* walk(start: string, maxDepth = Number.POSITIVE_INFINITY): AsyncGenerator<WalkEntry> {
  const stack: WalkEntry[] = [{ path: start, relative: '', stats: await lstat(start), depth: 0 }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    yield entry;
    if (!entry.stats.isDirectory() || entry.depth >= maxDepth) continue;
    const names = (await readdir(entry.path)).sort().reverse();
    for (const name of names) {
      const path = join(entry.path, name);
      const stats = await lstat(path).catch(() => undefined);
      // Gone since readdir: skip it, like find does for a file removed under it.
      if (!stats) continue;
      stack.push({ path, relative: entry.relative ? `${entry.relative}/${name}` : name, stats, depth: entry.depth + 1 });
    }
  }
}
