import type { Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import type { DemoGuest } from '../DemoGuest';
import type { DemoCommand } from './types';

const FILE_TESTS: Record<string, (info: Stats) => boolean> = {
  '-e': () => true,
  '-f': info => info.isFile(),
  '-d': info => info.isDirectory(),
  '-s': info => info.size > 0,
  // The guest's files belong to the demo host's own user, which is who the guest's root runs as.
  '-O': info => info.uid === process.geteuid?.(),
  '-L': info => info.isSymbolicLink(),
  '-h': info => info.isSymbolicLink(),
};

/** One `[!] -X path` primary; false when the path is missing or leads out of the guest. */
async function primary(guest: DemoGuest, operator: string, path: string): Promise<boolean> {
  try {
    const symlinkTest = operator === '-L' || operator === '-h';
    const info = symlinkTest ? await lstat(await guest.resolveEntryPath(path)) : await stat(await guest.resolvePath(path));
    return FILE_TESTS[operator](info);
  } catch {
    return false;
  }
}

/**
 * `test [!] -e|-f|-d|-s|-O|-L|-h <path> [-a …]`: the check half of check-then-act steps, over the
 * guest's files. Exit 0 true, 1 false, 2 for any other expression.
 */
export const testCommand: DemoCommand = async ({ argv, guest, stderr }) => {
  const terms: Array<{ negated: boolean; operator: string; path: string }> = [];
  const words = argv.slice(1);
  for (let i = 0; i < words.length; ) {
    const negated = words[i] === '!';
    if (negated) i++;
    const [operator, path] = [words[i], words[i + 1]];
    if (!(operator in FILE_TESTS) || path === undefined) {
      stderr('test: this demo host supports only `[!] -e|-f|-d|-s|-O|-L|-h <path>` joined by -a\n');
      return 2;
    }
    terms.push({ negated, operator, path });
    i += 2;
    if (i < words.length && words[i++] !== '-a') {
      stderr(`test: unexpected ${JSON.stringify(words[i - 1])}; terms are joined by -a\n`);
      return 2;
    }
    if (i === words.length && words[i - 1] === '-a') {
      stderr('test: -a needs a term after it\n');
      return 2;
    }
  }
  if (terms.length === 0) return 1;
  for (const term of terms) {
    if ((await primary(guest, term.operator, term.path)) === term.negated) return 1;
  }
  return 0;
};
