import { createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PUBLISH_GENERATION_SCRIPT, REVOKE_KEY_SCRIPT, WRITE_PRIVATE_FILE_SCRIPT } from '../../ssh/fixedScripts';
import type { DemoCommand, DemoCommandContext } from './types';
import { fileErrorText } from './usage';

/*
 * A demo host has no shell: `sh -c <script> <name> <args>…` runs only the portal's fixed scripts
 * (ssh/fixedScripts.ts), emulated over the guest's confined root. Any other text is refused with
 * 127, the exit status of a shell that is not there.
 */

export const NO_SHELL = 'sh: demo host: no shell (only the portal\'s fixed scripts run here)';

type Script = (context: DemoCommandContext, args: string[]) => Promise<number>;

const SCRIPTS = new Map<string, { arity: number; run: Script }>([
  [WRITE_PRIVATE_FILE_SCRIPT, { arity: 1, run: writePrivateFile }],
  [PUBLISH_GENERATION_SCRIPT, { arity: 4, run: publishGeneration }],
  [REVOKE_KEY_SCRIPT, { arity: 1, run: revokeKey }],
]);

export const shellCommand: DemoCommand = async context => {
  const [, flag, text, , ...args] = context.argv;
  const script = flag === '-c' && text !== undefined ? SCRIPTS.get(text) : undefined;
  if (!script) {
    context.stderr(`${NO_SHELL}\n`);
    return 127;
  }
  if (args.length !== script.arity) {
    context.stderr(`sh: demo host: this script takes exactly ${script.arity} argument(s)\n`);
    return 2;
  }
  return script.run(context, args);
};

/** `umask 077 && cat > "$1"`: a new file gets mode 0600; an existing one is truncated and keeps its mode. */
async function writePrivateFile({ guest, stdin, stderr }: DemoCommandContext, [file]: string[]): Promise<number> {
  try {
    const local = await guest.resolvePath(file);
    await pipeline(stdin, createWriteStream(local, { mode: 0o600 }));
    return 0;
  } catch (error) {
    stderr(`sh: 1: cannot create ${file}: ${fileErrorText(error)}\n`);
    return 2;
  }
}

/**
 * `ln -sfn -- "$1" "$2" && mv -T -- "$2" "$3" && exec find "$4" …`. The link's target is stored as
 * text and read by the host's kernel, so it must be a plain name beside the link (what the portal
 * writes): an absolute or `..` target would point out of the guest.
 */
async function publishGeneration(context: DemoCommandContext, [generation, link, current, root]: string[]): Promise<number> {
  const { guest, stderr } = context;
  if (!/^[A-Za-z0-9._-]+$/.test(generation) || generation === '.' || generation === '..') {
    stderr(`ln: demo host: the link target must be a name in the same directory, not ${JSON.stringify(generation)}\n`);
    return 1;
  }
  let localLink: string;
  try {
    localLink = await guest.resolveEntryPath(link);
    const existing = await lstat(localLink).catch(() => undefined);
    if (existing?.isDirectory()) {
      stderr(`ln: demo host: ${link} is a directory\n`);
      return 1;
    }
    if (existing) await unlink(localLink);
    await symlink(generation, localLink);
  } catch (error) {
    stderr(`ln: failed to create symbolic link '${link}': ${fileErrorText(error)}\n`);
    return 1;
  }
  try {
    // rename(2) replaces `current` in one step: readers see the old generation or the new one.
    await rename(localLink, await guest.resolveEntryPath(current));
  } catch (error) {
    stderr(`mv: cannot move '${link}' to '${current}': ${fileErrorText(error)}\n`);
    return 1;
  }
  return listGenerations(context, root);
}

/** `find "$4" -mindepth 1 -maxdepth 1 -type d -name "gen-*"`: real directories only, not symlinks. */
async function listGenerations({ guest, stdout, stderr }: DemoCommandContext, root: string): Promise<number> {
  try {
    const entries = await readdir(await guest.resolvePath(root), { withFileTypes: true });
    const prefix = root.endsWith('/') ? root : `${root}/`;
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name.startsWith('gen-')) stdout(`${posix.join(prefix, entry.name)}\n`);
    }
    return 0;
  } catch (error) {
    stderr(`find: '${root}': ${fileErrorText(error)}\n`);
    return 1;
  }
}

/** The guest's root logs in: `~` is /root, as for the demo's ssh client. */
const AUTHORIZED_KEYS = '/root/.ssh/authorized_keys';

/** Every line whose last word is `$1` taken out of root's authorized_keys, written anew with mode 0600. */
async function revokeKey({ guest, stderr }: DemoCommandContext, [comment]: string[]): Promise<number> {
  let local: string;
  let text: string;
  try {
    local = await guest.resolvePath(AUTHORIZED_KEYS);
    text = await readFile(local, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    stderr(`awk: ${AUTHORIZED_KEYS}: ${fileErrorText(error)}\n`);
    return 2;
  }
  const kept = text
    .split('\n')
    .slice(0, text.endsWith('\n') ? -1 : undefined)
    .filter(line => (line.trim().split(/\s+/).pop() ?? '') !== comment);
  try {
    await writeFile(`${local}.revoking`, kept.map(line => `${line}\n`).join(''), { mode: 0o600 });
    await rename(`${local}.revoking`, local);
    return 0;
  } catch (error) {
    stderr(`mv: cannot move '${AUTHORIZED_KEYS}.revoking': ${fileErrorText(error)}\n`);
    return 1;
  }
}
