import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { DemoCommand } from './types';
import { fileErrorText, operandsAfter, unsupportedForm } from './usage';
import { walk } from './walk';

const LIST_FORM = ['-mindepth', '1', '-maxdepth', '1', '-printf', '%f\\0'];
const HASH_FORM = ['-type', 'f', '-exec', 'sha256sum', '--', '{}', '+'];
const FIND_FORMS = [`find <path> ${LIST_FORM.join(' ')}`, `find <path> ${HASH_FORM.join(' ')}`];

function findForm(expression: readonly string[]): 'list' | 'hash' | undefined {
  const matches = (form: readonly string[]) =>
    expression.length === form.length && form.every((word, index) => expression[index] === word);
  if (matches(LIST_FORM)) return 'list';
  if (matches(HASH_FORM)) return 'hash';
  return undefined;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** One line as GNU sha256sum prints it: names with `\` or a newline are escaped and flagged by a leading `\`. */
function sha256sumLine(hash: string, name: string): string {
  if (!/[\\\n]/.test(name)) return `${hash}  ${name}\n`;
  return `\\${hash}  ${name.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n`;
}

/**
 * `find <path> -mindepth 1 -maxdepth 1 -printf %f\0` (the names directly below a directory) and
 * `find <path> -type f -exec sha256sum -- {} +` (a digest of every regular file below it), without
 * following symlinks (`find -P`).
 */
export const findCommand: DemoCommand = async ({ argv, guest, stdout, stderr, signal }) => {
  const [start, ...expression] = argv.slice(1);
  const form = findForm(expression);
  if (start === undefined || start.startsWith('-') || !form) return unsupportedForm(stderr, 'find', FIND_FORMS);
  try {
    const local = await guest.resolvePath(start);
    const separator = start.endsWith('/') ? '' : '/';
    for await (const entry of walk(local, form === 'list' ? 1 : undefined)) {
      if (signal.aborted) return 130;
      if (form === 'list') {
        if (entry.depth === 1) stdout(`${entry.relative}\0`);
      } else if (entry.stats.isFile()) {
        const name = entry.relative ? `${start}${separator}${entry.relative}` : start;
        stdout(sha256sumLine(await sha256File(entry.path), name));
      }
    }
  } catch (error) {
    stderr(`find: '${start}': ${fileErrorText(error)}\n`);
    return 1;
  }
  return 0;
};

/** `sha256sum -- <file>…` inside the guest. */
export const sha256sumCommand: DemoCommand = async ({ argv, guest, stdout, stderr }) => {
  const paths = operandsAfter(argv.slice(1), ['--']);
  if (!paths) return unsupportedForm(stderr, 'sha256sum', ['sha256sum -- <file>…']);
  let status = 0;
  for (const path of paths) {
    try {
      stdout(sha256sumLine(await sha256File(await guest.resolvePath(path)), path));
    } catch (error) {
      stderr(`sha256sum: ${path}: ${fileErrorText(error)}\n`);
      status = 1;
    }
  }
  return status;
};
