import { readFile, realpath } from 'node:fs/promises';
import { posix, sep } from 'node:path';
import { NotAllowedError } from '@backstage/errors';
import type { DemoGuest } from '../DemoGuest';
import { runLocalRsync } from './localRsync';
import { parseRsyncArgv, RsyncUsageError, type RsyncInvocation, type RsyncPush } from './rsyncArgs';
import { loginToPeer, parseRemoteShell, SshUsageError, type SshClientOptions } from './sshPeer';
import type { DemoCommand, DemoCommandContext } from './types';
import { fileErrorText } from './usage';
import { walk } from './walk';

/**
 * `rsync --version` (the real binary's answer) and a push over ssh to another guest of this demo
 * host server. The push is checked as the guest's ssh would check it (reachable host, pinned host
 * key, accepted identity), then the real rsync copies from one guest's directory to the other's;
 * the bytes never pass through the portal.
 */
export const demoRsyncCommand: DemoCommand = async context => {
  let invocation: RsyncInvocation;
  try {
    invocation = parseRsyncArgv(context.argv.slice(1));
  } catch (error) {
    if (!(error instanceof RsyncUsageError)) throw error;
    context.stderr(`rsync: ${error.message}\nrsync error: syntax or usage error (code 1)\n`);
    return 1;
  }
  if (invocation.kind === 'version') {
    return runLocalRsync({ ...context, args: ['--version'], hidePaths: [] });
  }
  return runPush(invocation, context);
};

/** ssh's failures end rsync with 255, after rsync notes the lost connection. */
function sshFailed(context: DemoCommandContext, message: string): number {
  context.stderr(
    `${message}\nrsync: connection unexpectedly closed (0 bytes received so far) [sender]\n` +
      'rsync error: unexplained error (code 255)\n',
  );
  return 255;
}

/** The ssh steps: reach this server, verify its key, log in as the target guest. */
async function connect(push: RsyncPush, context: DemoCommandContext): Promise<DemoGuest | number> {
  let ssh: SshClientOptions;
  try {
    ssh = parseRemoteShell(push.remoteShell);
  } catch (error) {
    if (!(error instanceof SshUsageError)) throw error;
    return sshFailed(context, `ssh: ${error.message}`);
  }
  const warn = (line: string) => context.stderr(`${line}\n`);
  const target = await loginToPeer(context.guest, ssh, push.destination, context.peers, warn);
  return typeof target === 'string' ? sshFailed(context, target) : target;
}

/**
 * Whether rsync follows the last component of a path: with a trailing `/` (or `/.`) it means the
 * directory's contents; a plain name that is a symlink is copied as the link.
 */
function followsLastComponent(path: string): boolean {
  const last = path.split('/').pop();
  return last === '' || last === '.';
}

/** A source path as a local one, checked the way rsync will read it; keeps the trailing `/`. */
async function localSourcePath(guest: DemoGuest, path: string): Promise<string> {
  if (!followsLastComponent(path)) return guest.resolveEntryPath(path);
  const local = await guest.resolvePath(path);
  return local.endsWith('/') ? local : `${local}/`;
}

/** The receiving side follows symlinks in the whole destination path. */
async function localTargetPath(guest: DemoGuest, path: string): Promise<string> {
  const local = await guest.resolvePath(path);
  return path.endsWith('/') && !local.endsWith('/') ? `${local}/` : local;
}

/**
 * A `--link-dest` directory as a local path in the destination guest (keeping a trailing `/`).
 * rsync looks up files below it through the kernel, which would follow a symlinked directory out of
 * the guest and hard-link what it finds there, so a tree holding a symlink that leads out is refused.
 * A directory that does not exist yet is fine: rsync then copies (a replica's first run).
 */
async function localLinkDest(guest: DemoGuest, path: string): Promise<string> {
  const local = await localTargetPath(guest, path);
  const start = await realpath(local).catch(() => undefined);
  if (start === undefined) return local;
  const realRoot = await realpath(guest.rootDir);
  for await (const entry of walk(start)) {
    if (!entry.stats.isSymbolicLink()) continue;
    const real = await realpath(entry.path).catch(() => undefined);
    if (real !== undefined && real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new NotAllowedError(`A symlink in ${path} leads out of the demo guest`);
    }
  }
  return local;
}

/**
 * The `--files-from` list, read on the source guest and handed to rsync on stdin (NUL-separated),
 * so rsync reads exactly what was checked. rsync follows symlinks on the way to a listed entry
 * (and the entry itself when it ends in `/`), so each must resolve inside the source guest.
 */
async function filesFromList(push: RsyncPush, source: DemoGuest): Promise<Buffer> {
  const text = await readFile(await source.resolvePath(push.filesFrom!), 'utf8');
  const entries = text.split(push.from0 ? '\0' : /\r?\n/).filter(entry => entry !== '');
  for (const entry of entries) {
    if (entry.split('/').includes('..')) throw new RsyncUsageError(`files-from entry ${JSON.stringify(entry)} names ..`);
    const path = posix.join(push.source, entry);
    await (followsLastComponent(entry) ? source.resolvePath(path) : source.resolveEntryPath(path));
  }
  return Buffer.from(entries.map(entry => `${entry}\0`).join(''));
}

async function runPush(push: RsyncPush, context: DemoCommandContext): Promise<number> {
  const { guest: source, stderr } = context;
  const target = await connect(push, context);
  if (typeof target === 'number') return target;
  let sourcePath: string;
  let targetPath: string;
  try {
    sourcePath = await localSourcePath(source, push.source);
  } catch (error) {
    stderr(`rsync: [sender] link_stat "${push.source}" failed: ${fileErrorText(error)}\nrsync error: some files/attrs were not transferred (code 23)\n`);
    return 23;
  }
  try {
    targetPath = await localTargetPath(target, push.destination.path);
  } catch (error) {
    stderr(`rsync: [Receiver] change_dir "${push.destination.path}" failed: ${fileErrorText(error)}\nrsync error: errors selecting input/output files, dirs (code 3)\n`);
    return 3;
  }
  const linkDest: string[] = [];
  for (const path of push.linkDest) {
    try {
      linkDest.push(`--link-dest=${await localLinkDest(target, path)}`);
    } catch (error) {
      stderr(`rsync: [Receiver] link-dest "${path}": ${fileErrorText(error)}\nrsync error: errors selecting input/output files, dirs (code 3)\n`);
      return 3;
    }
  }
  let list: Buffer | undefined;
  if (push.filesFrom !== undefined) {
    try {
      list = await filesFromList(push, source);
    } catch (error) {
      stderr(`rsync: files-from ${push.filesFrom}: ${fileErrorText(error)}\nrsync error: syntax or usage error (code 1)\n`);
      return 1;
    }
  }
  stderr(`[demo host] ${source.name} → ${target.name}: copied by this demo host's local rsync, not over a network\n`);
  return runLocalRsync({
    ...context,
    args: [...push.options, ...linkDest, ...(list ? ['--from0', '--files-from=-'] : []), '--', sourcePath, targetPath],
    input: list,
    hidePaths: [source.rootDir, target.rootDir],
  });
}
