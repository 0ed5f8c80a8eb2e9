import { HostShell } from './hosts';

/**
 * Manifests of a directory tree on a host, for the verify inside the downtime window. A full `-c` compare
 * reads every byte on both hosts (0.3–0.9 s for 512 MB); this one reads only what can have changed since a
 * full compare made before the window (the rehearsal):
 *   1. both trees' listings agree on every name, type, mode, owner, size, mtime and link target;
 *   2. the content of every file that changed on either host since the rehearsal started (its ctime, which
 *      no user-space call can set back, is not older than the host's clock then) or that the rehearsal
 *      found different has the same BLAKE2b-256 digest on both hosts (`b2sum`: a third of sha256sum's CPU
 *      where coreutils has no SHA instructions, and the window's two cores are busy).
 * A file outside (2) was byte-equal when the rehearsal read it and has not been written since on either
 * host, so (1) and (2) together prove what a full `-c` compare proves.
 */

export interface TreeEntry {
  /** find's %y: f, d, l, p, s, c, b. */
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: number;
  /** Seconds since the epoch with the fraction find prints (nanoseconds where the filesystem keeps them). */
  mtime: string;
  ctime: number;
  /** The ctime as find printed it (to the nanosecond): equal only if the inode was not changed in between. */
  ctimeText: string;
  linkTarget: string;
}

/**
 * How long before the host's clock reading a change still counts. The kernel stamps a file with its coarse
 * clock (up to a tick, ≤ 10 ms, behind) truncated to the filesystem's granularity (nanoseconds on ext4,
 * XFS, ZFS and btrfs; whole seconds on a few), so a write just after the reading can carry an earlier time.
 */
export const CHANGE_MARGIN_SECONDS = 1.1;
/** The same for a time stamped with a fraction of a second: the kernel's coarse clock, with room to spare. */
export const TICK_MARGIN_SECONDS = 0.05;

const FIELDS = ['%y', '%m', '%U', '%G', '%s', '%T@', '%C@', '%P', '%l'];
const LIST_FORMAT = FIELDS.map(field => `${field}\\0`).join('');

/** The host's clock in seconds since the epoch, or undefined where the host cannot tell it (demo hosts). */
export async function hostClock(host: HostShell, signal?: AbortSignal): Promise<number | undefined> {
  const result = await host.run(['date', '+%s.%N'], { signal, check: false });
  const text = result.stdout.trim();
  return result.exitCode === 0 && /^\d+\.\d{9}$/.test(text) ? Number(text) : undefined;
}

/**
 * `root` (named '') and every entry below it (relative names), or undefined where the host's find cannot
 * print the listing. Names are NUL-terminated, so any name a filesystem allows round-trips.
 */
export async function listTree(host: HostShell, root: string, signal?: AbortSignal): Promise<Map<string, TreeEntry> | undefined> {
  const result = await host.run(['find', root, '-printf', LIST_FORMAT], { signal, check: false });
  if (result.exitCode !== 0) return undefined;
  return parseTreeListing(result.stdout);
}

export function parseTreeListing(listing: string): Map<string, TreeEntry> | undefined {
  const fields = listing.split('\0');
  // A complete listing ends with a NUL: the split leaves one empty string after the last entry.
  if (fields.pop() !== '' || fields.length % FIELDS.length !== 0) return undefined;
  const entries = new Map<string, TreeEntry>();
  for (let index = 0; index < fields.length; index += FIELDS.length) {
    const [type, mode, uid, gid, size, mtime, ctime, name, linkTarget] = fields.slice(index, index + FIELDS.length);
    entries.set(name, { type, mode, uid, gid, size: Number(size), mtime, ctime: Number(ctime), ctimeText: ctime, linkTarget });
  }
  return entries;
}

/** Every way the two listings differ, in rsync's spirit (`missing x`, `extra x`, `size x`, …); empty when equal. */
export function compareTrees(source: Map<string, TreeEntry>, target: Map<string, TreeEntry>): string[] {
  const differences: string[] = [];
  for (const [name, entry] of source) {
    const other = target.get(name);
    if (!other) {
      differences.push(`missing ${name}`);
      continue;
    }
    const differing: string[] = [];
    if (entry.type !== other.type) differing.push('type');
    if (entry.mode !== other.mode) differing.push('mode');
    if (entry.uid !== other.uid || entry.gid !== other.gid) differing.push('owner');
    if (entry.type === 'f' && entry.size !== other.size) differing.push('size');
    // Directories' and files' times are copied (rsync -a); a symlink's time is not everywhere.
    if ((entry.type === 'f' || entry.type === 'd') && entry.mtime !== other.mtime) differing.push('mtime');
    if (entry.type === 'l' && entry.linkTarget !== other.linkTarget) differing.push('link target');
    if (differing.length) differences.push(`${differing.join('+')} ${name}`);
  }
  for (const name of target.keys()) {
    if (!source.has(name)) differences.push(`extra ${name}`);
  }
  return differences;
}

export interface ChangeWindow {
  /** Host clock readings taken before the rehearsal started. */
  sourceSince: number;
  targetSince: number;
  /** Names the rehearsal's full content compare found different. */
  rehearsalDifferences: string[];
  /** Each host's digests of the files (2) compares, made after the rehearsal while the app still ran. */
  ahead?: { source: HashedAhead; target: HashedAhead };
}

/** Digests made ahead on one host, and its clock reading from before it listed the tree for them. */
export interface HashedAhead {
  since: number;
  files: Record<string, HashedFile>;
}

/** The regular files whose content must be compared again: changed on either host since the rehearsal, or found different by it. */
export function filesToHash(source: Map<string, TreeEntry>, target: Map<string, TreeEntry>, window: ChangeWindow): string[] {
  const different = new Set(window.rehearsalDifferences);
  const names: string[] = [];
  for (const [name, entry] of source) {
    const other = target.get(name);
    if (entry.type !== 'f' || other?.type !== 'f') continue;
    const changed =
      entry.ctime >= window.sourceSince - CHANGE_MARGIN_SECONDS ||
      other.ctime >= window.targetSince - CHANGE_MARGIN_SECONDS ||
      different.has(name);
    if (changed) names.push(name);
  }
  return names;
}

/** A file's digest and the ctime it had when listed before it was read: valid while the ctime stays the same. */
export interface HashedFile {
  digest: string;
  ctime: string;
}

/**
 * Digests of the regular files changed since `changedSince` (a ctime not older) or named in `alsoNames`,
 * each with the ctime it had when listed, before it was read. Undefined where the host cannot list its tree.
 */
export async function hashChangedAhead(host: HostShell, root: string, changedSince: number, alsoNames: string[], signal?: AbortSignal): Promise<Record<string, HashedFile> | undefined> {
  const tree = await listTree(host, root, signal);
  if (!tree) return undefined;
  const named = new Set(alsoNames);
  const names = [...tree].filter(([name, entry]) => entry.type === 'f' && (entry.ctime >= changedSince || named.has(name))).map(([name]) => name);
  // The app still runs: a file it deletes between the listing and its read simply gets no digest ahead.
  const hashes = await hashFiles(host, root, names, signal, { vanishedAllowed: true });
  const ahead: Record<string, HashedFile> = {};
  for (const name of names) {
    const digest = hashes.get(name);
    if (digest) ahead[name] = { digest, ctime: tree.get(name)!.ctimeText };
  }
  return ahead;
}

/**
 * The digests made ahead that still hold for `tree`: the file's ctime is the one listed before it was read,
 * and that ctime was already in the past when the listing started (`since`), so any later write stamps a
 * different one. "In the past" allows for the stamp's granularity: a kernel tick where the ctime has a
 * fraction, CHANGE_MARGIN_SECONDS where it is whole (a filesystem that keeps seconds only).
 */
export function stillValid(ahead: HashedAhead, tree: Map<string, TreeEntry>): Map<string, string> {
  const valid = new Map<string, string>();
  for (const [name, hashed] of Object.entries(ahead.files)) {
    const margin = /\.0*$/.test(hashed.ctime) || !hashed.ctime.includes('.') ? CHANGE_MARGIN_SECONDS : TICK_MARGIN_SECONDS;
    if (tree.get(name)?.ctimeText === hashed.ctime && Number(hashed.ctime) < ahead.since - margin) valid.set(name, hashed.digest);
  }
  return valid;
}

/**
 * Digests of every regular file below `root` whose ctime is newer than `since`, in one command, requested
 * together with the host's listing inside the window. A guess made before the listings are compared:
 * what the comparison needs and this did not hash is hashed afterwards. Empty where the host's find
 * cannot select by ctime.
 */
export async function hashChangedSince(host: HostShell, root: string, since: number, signal?: AbortSignal): Promise<Map<string, string>> {
  const script = 'cd -- "$1" && find . -type f -newerct "@$2" -printf "%P\\0" | xargs -0 -r b2sum -l 256 -z --';
  const result = await host.run(['sh', '-c', script, 'sh', root, since.toFixed(9)], { signal, check: false });
  return parseHashes(result.stdout, '');
}

/**
 * The digest of each named file below `root`, read on the host (names go through stdin, NUL-separated).
 * With `vanishedAllowed` a file that cannot be read is left out instead of failing the call.
 */
export async function hashFiles(
  host: HostShell,
  root: string,
  names: string[],
  signal?: AbortSignal,
  options: { vanishedAllowed?: boolean } = {},
): Promise<Map<string, string>> {
  if (!names.length) return new Map();
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const stdin = names.map(name => `${prefix}${name}\0`).join('');
  const result = await host.run(['xargs', '-0', '-r', 'b2sum', '-l', '256', '-z', '--'], { stdin, signal, check: !options.vanishedAllowed });
  return parseHashes(result.stdout, prefix);
}

/** `b2sum -l 256 -z`'s output ("<64 hex>  <path>\0", paths as given, not escaped) by path without `prefix`. */
function parseHashes(output: string, prefix: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const line of output.split('\0')) {
    if (!/^[0-9a-f]{64}  /.test(line)) continue;
    const path = line.slice(66);
    if (path.startsWith(prefix)) hashes.set(path.slice(prefix.length), line.slice(0, 64));
  }
  return hashes;
}

/** Names whose hashes differ or that one host could not hash. */
export function compareHashes(names: string[], source: Map<string, string>, target: Map<string, string>): string[] {
  return names.filter(name => source.get(name) === undefined || source.get(name) !== target.get(name)).map(name => `content ${name}`);
}
