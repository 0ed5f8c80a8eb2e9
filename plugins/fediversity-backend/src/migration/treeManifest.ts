import { CommandResult, HostShell } from './hosts';
import { GATE_LINE, ReadyCommand, readingResult, startReady } from './readyCommands';

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
 * host, so (1) and (2) together prove what a full `-c` compare proves, provided neither host's clock
 * stepped back in between: each listing carries a reading of the host's wall and boot clocks, and a step
 * falls back to the full compare. Inside the window each host lists and hashes in one command and one walk
 * of the tree: on two busy cores a process or a walk costs more than the bytes of a listing.
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

/** A host's wall clock and its time since boot, read together: between two readings they move alike unless the wall clock stepped. */
export interface ClockReading {
  wall: number;
  boot: number;
}

/** How far the wall clock may move apart from the boot clock between two readings (NTP slews far less). */
export const CLOCK_STEP_TOLERANCE_SECONDS = 0.5;

/** Both clocks, or undefined where the host cannot tell them (demo hosts). */
export async function readClock(host: HostShell, signal?: AbortSignal): Promise<ClockReading | undefined> {
  const result = await host.run(['sh', '-c', 'date +%s.%N && cat /proc/uptime'], { signal, check: false });
  return result.exitCode === 0 ? parseClock(result.stdout.split('\n')[0], result.stdout.split('\n')[1]?.split(' ')[0]) : undefined;
}

function parseClock(wall: string | undefined, boot: string | undefined): ClockReading | undefined {
  if (!/^\d+\.\d+$/.test(wall?.trim() ?? '') || !/^\d+(\.\d+)?$/.test(boot?.trim() ?? '')) return undefined;
  return { wall: Number(wall), boot: Number(boot) };
}

/** Whether the wall clock stepped (either way) between two readings of one host. */
export function clockStepped(earlier: ClockReading, later: ClockReading): boolean {
  return Math.abs(later.wall - earlier.wall - (later.boot - earlier.boot)) > CLOCK_STEP_TOLERANCE_SECONDS;
}

/** The entry whose FIELDS start at `tokens[at]`, with its name as found (`./a/b`). */
function treeEntry(tokens: string[], at: number): [string, TreeEntry] {
  const ctime = tokens[at + 6];
  const entry: TreeEntry = {
    type: tokens[at],
    mode: tokens[at + 1],
    uid: tokens[at + 2],
    gid: tokens[at + 3],
    size: Number(tokens[at + 4]),
    mtime: tokens[at + 5],
    ctime: Number(ctime),
    ctimeText: ctime,
    linkTarget: tokens[at + 8],
  };
  return [tokens[at + 7], entry];
}

/** Every way the two listings differ, in rsync's spirit (`missing x`, `extra x`, `size x`, …); empty when equal. */
export function compareTrees(source: Map<string, TreeEntry>, target: Map<string, TreeEntry>): string[] {
  const differences: string[] = [];
  // This runs once per job inside the window, mostly before the JIT has compiled it: forEach rather than
  // the iterator protocol, and one test for the many equal entries before any allocation.
  source.forEach((entry, name) => {
    const other = target.get(name);
    if (!other) {
      differences.push(`missing ${name}`);
      return;
    }
    // Directories' and files' times are copied (rsync -a); a symlink's time is not everywhere.
    const timed = entry.type === 'f' || entry.type === 'd';
    const equal =
      entry.type === other.type &&
      entry.mode === other.mode &&
      entry.uid === other.uid &&
      entry.gid === other.gid &&
      (entry.type !== 'f' || entry.size === other.size) &&
      (!timed || entry.mtime === other.mtime) &&
      (entry.type !== 'l' || entry.linkTarget === other.linkTarget);
    if (equal) return;
    const differing: string[] = [];
    if (entry.type !== other.type) differing.push('type');
    if (entry.mode !== other.mode) differing.push('mode');
    if (entry.uid !== other.uid || entry.gid !== other.gid) differing.push('owner');
    if (entry.type === 'f' && entry.size !== other.size) differing.push('size');
    if (timed && entry.mtime !== other.mtime) differing.push('mtime');
    if (entry.type === 'l' && entry.linkTarget !== other.linkTarget) differing.push('link target');
    differences.push(`${differing.join('+')} ${name}`);
  });
  target.forEach((_, name) => {
    if (!source.has(name)) differences.push(`extra ${name}`);
  });
  return differences;
}

export interface ChangeWindow {
  /** Host clock readings taken before the rehearsal started. */
  sourceSince: number;
  targetSince: number;
  /** The boot clocks read with them: without them a clock step cannot be told and the verify compares in full. */
  sourceBoot?: number;
  targetBoot?: number;
  /** The source's clocks before the last copying pass: the final pass copies what changed since. */
  lastPass?: ClockReading;
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
  const sourceSince = window.sourceSince - CHANGE_MARGIN_SECONDS;
  const targetSince = window.targetSince - CHANGE_MARGIN_SECONDS;
  const names: string[] = [];
  // forEach, as in compareTrees.
  source.forEach((entry, name) => {
    if (entry.type !== 'f') return;
    const other = target.get(name);
    if (other?.type !== 'f') return;
    if (entry.ctime >= sourceSince || other.ctime >= targetSince || different.has(name)) names.push(name);
  });
  return names;
}

/** A file's digest and the ctime it had when listed before it was read: valid while the ctime stays the same. */
export interface HashedFile {
  digest: string;
  ctime: string;
}

/**
 * Digests of the regular files changed since `changedSince` (a ctime newer) or named in `alsoNames`, each
 * with the ctime it had when listed, before it was read, and the host's clock from before the listing.
 * Made with listAndHash, as the verify will (its parser is then warm in the window). The app still runs:
 * a file it deletes between the listing and its read simply gets no digest. Undefined where the host
 * cannot list its tree.
 */
export async function hashChangedAhead(host: HostShell, root: string, changedSince: number, alsoNames: string[], signal?: AbortSignal): Promise<HashedAhead | undefined> {
  const listing = await listAndHash(host, root, changedSince, signal, { vanishedAllowed: true });
  if (!listing?.clock) return undefined;
  const isFile = (name: string) => listing.entries.get(name)?.type === 'f';
  const named = alsoNames.filter(name => isFile(name) && !listing.digests.has(name));
  const more = await hashFiles(host, root, named, signal, { vanishedAllowed: true });
  const files: Record<string, HashedFile> = {};
  for (const [name, digest] of [...listing.digests, ...more]) {
    if (isFile(name)) files[name] = { digest, ctime: listing.entries.get(name)!.ctimeText };
  }
  return { since: listing.clock.wall, files };
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

/** One host's listing of the tree, with its clocks and the digests it made of recently changed files. */
export interface HostListing {
  clock?: ClockReading;
  entries: Map<string, TreeEntry>;
  digests: Map<string, string>;
}

// Each entry's FIELDS, NUL-terminated after an `L` tag, with the path as found below `.` (`./a/b`).
const TAGGED_FORMAT = `L\\0${FIELDS.map(field => `${field === '%P' ? '%p' : field}\\0`).join('')}`;

/**
 * One command and one walk of the tree on the host: its clocks (shell builtins, no process), the listing,
 * and the digests of the regular files whose ctime is newer than `hashSince` (a guess of what (2) will
 * need: the comparison hashes what it lacks afterwards). With `flush` the tree's filesystem is first
 * written out to disk (flushFilesystem's `sync -f`), so a target's listing describes what survives a crash.
 * Undefined where the host cannot print it (no bash or GNU find: demo hosts), where the flush failed or,
 * unless `vanishedAllowed` (the app still runs), where an entry vanished.
 */
export async function listAndHash(
  host: HostShell,
  root: string,
  hashSince: number,
  signal?: AbortSignal,
  options: { vanishedAllowed?: boolean; flush?: boolean } = {},
): Promise<HostListing | undefined> {
  const result = await host.run(listAndHashArgv(root, hashSince, { gate: false, flush: options.flush ?? false }), { signal, check: false });
  return listingOf(result, options);
}

/**
 * listAndHash started ahead, waiting at its gate (readyCommands.ts), niced: the final sync fires it the
 * moment its pass's data is in place, while the database's switchover (a chain of hand-offs between
 * processes on two busy cores) may still run; the walk takes what that leaves. Its result is parsed as soon
 * as it arrives.
 */
export function startListAndHash(host: HostShell, root: string, hashSince: number, options: { flush: boolean }): ReadyListing {
  const argv = ['nice', '-n', '10', ...listAndHashArgv(root, hashSince, { gate: true, flush: options.flush })];
  return readingResult(startReady(host, argv, { gate: true, check: false }), result => listingOf(result));
}

export type ReadyListing = ReadyCommand<HostListing | undefined>;

export function fireListAndHash(ready: ReadyListing, signal?: AbortSignal): Promise<HostListing | undefined> {
  return ready.fire('', signal);
}

function listAndHashArgv(root: string, hashSince: number, options: { gate: boolean; flush: boolean }): string[] {
  const script = [
    ...(options.gate ? [GATE_LINE] : []),
    // In the C locale $EPOCHREALTIME has a decimal point.
    'LC_ALL=C',
    'cd -- "$1" || exit',
    ...(options.flush ? ['sync -f . || exit'] : []),
    'read -r boot idle < /proc/uptime || exit',
    'printf "C\\0%s\\0%s\\0" "$EPOCHREALTIME" "$boot"',
    'exec find . -printf "$3" \\( -type f -newerct "@$2" -exec b2sum -l 256 -z -- {} + \\)',
  ].join('\n');
  return ['bash', '-c', script, 'bash', root, hashSince.toFixed(9), TAGGED_FORMAT];
}

function listingOf(result: CommandResult, options: { vanishedAllowed?: boolean } = {}): HostListing | undefined {
  // find fails where an entry vanished mid-walk or b2sum could not read one: normal under a running app.
  if (result.exitCode !== 0 && !options.vanishedAllowed) return undefined;
  return parseHostListing(result.stdout);
}

/** listAndHash's output: a `C` record (clocks), `L` records (entries) and `b2sum -z` lines, NUL-terminated. Exported for tests. */
export function parseHostListing(output: string): HostListing | undefined {
  const tokens = output.split('\0');
  if (tokens.pop() !== '') return undefined;
  const listing: HostListing = { entries: new Map(), digests: new Map() };
  for (let index = 0; index < tokens.length; ) {
    const tag = tokens[index];
    if (tag === 'C') {
      listing.clock = parseClock(tokens[index + 1], tokens[index + 2]);
      index += 3;
    } else if (tag === 'L') {
      if (index + FIELDS.length >= tokens.length) return undefined;
      const [path, entry] = treeEntry(tokens, index + 1);
      listing.entries.set(treeKey(path), entry);
      index += 1 + FIELDS.length;
    } else if (/^[0-9a-f]{64} {2}\.\//.test(tag)) {
      listing.digests.set(tag.slice(68), tag.slice(0, 64));
      index += 1;
    } else {
      return undefined;
    }
  }
  return listing;
}

/** find's `.` and `./name` as the keys of a tree: `` and `name`. */
function treeKey(path: string): string {
  if (path === '.') return '';
  return path.startsWith('./') ? path.slice(2) : path;
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
    if (!/^[0-9a-f]{64} {2}/.test(line)) continue;
    const path = line.slice(66);
    if (path.startsWith(prefix)) hashes.set(path.slice(prefix.length), line.slice(0, 64));
  }
  return hashes;
}

/** Names whose hashes differ or that one host could not hash. */
export function compareHashes(names: string[], source: Map<string, string>, target: Map<string, string>): string[] {
  return names.filter(name => source.get(name) === undefined || source.get(name) !== target.get(name)).map(name => `content ${name}`);
}
