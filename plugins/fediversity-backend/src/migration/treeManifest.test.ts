import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostShell } from './hosts';
import { localHost } from '../testing/localHost';
import {
  clockStepped,
  compareHashes,
  compareTrees,
  filesToHash,
  hashChangedAhead,
  hashFiles,
  listAndHash,
  parseHostListing,
  readClock,
  stillValid,
  TreeEntry,
} from './treeManifest';

/** This machine as a host: the real find, xargs and b2sum. */
const local = localHost();

/** A host whose find and date do not exist, like a demo host's emulated command set. */
const limited: HostShell = { role: 'target', run: async () => ({ exitCode: 127, stdout: '', stderr: 'unsupported' }) };

let base: string;
let source: string;
let target: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'tree-manifest-'));
  source = join(base, 'source');
  target = join(base, 'target');
  for (const root of [source, target]) {
    mkdirSync(join(root, 'media', 'sub'), { recursive: true });
    writeFileSync(join(root, 'media', 'a.bin'), 'same bytes');
    writeFileSync(join(root, 'media', 'sub', 'name with\nnewline and space'), 'x');
    symlinkSync('a.bin', join(root, 'media', 'link'));
  }
  const past = new Date('2026-01-01T00:00:00Z');
  for (const root of [source, target]) {
    for (const path of ['media/a.bin', 'media/sub/name with\nnewline and space', 'media/sub', 'media', '.']) utimesSync(join(root, path), past, past);
  }
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

/** The host's listing alone (nothing changed after 2100, so nothing is hashed). */
async function listTree(host: HostShell, root: string) {
  return (await listAndHash(host, root, 4102444800))?.entries;
}

/** The host's wall clock. */
async function hostClock(host: HostShell) {
  return (await readClock(host))?.wall;
}

async function listings() {
  const [sourceTree, targetTree] = await Promise.all([listTree(local, source), listTree(local, target)]);
  return { sourceTree: sourceTree!, targetTree: targetTree! };
}

describe('listAndHash and compareTrees', () => {
  it('finds two copies equal, names with newlines and spaces included', async () => {
    const { sourceTree, targetTree } = await listings();
    // '' is the root itself: its mode, owner and mtime are copied and compared too.
    expect([...sourceTree.keys()].sort()).toEqual(['', 'media', 'media/a.bin', 'media/link', 'media/sub', 'media/sub/name with\nnewline and space']);
    expect(sourceTree.get('media/link')).toMatchObject({ type: 'l', linkTarget: 'a.bin' });
    expect(compareTrees(sourceTree, targetTree)).toEqual([]);
  });

  it('names every kind of difference in names and metadata', async () => {
    writeFileSync(join(target, 'media', 'a.bin'), 'other size!');
    utimesSync(join(target, 'media', 'a.bin'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    chmodSync(join(target, 'media', 'sub'), 0o700);
    rmSync(join(target, 'media', 'link'));
    symlinkSync('elsewhere', join(target, 'media', 'link'));
    writeFileSync(join(source, 'media', 'new.bin'), 'n');
    writeFileSync(join(target, 'media', 'stale.bin'), 's');
    utimesSync(join(target, 'media', 'sub', 'name with\nnewline and space'), new Date(), new Date());
    for (const root of [source, target]) utimesSync(join(root, 'media'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    const { sourceTree, targetTree } = await listings();
    expect(compareTrees(sourceTree, targetTree).sort()).toEqual(
      [
        'size media/a.bin',
        'link target media/link',
        'mode media/sub',
        'missing media/new.bin',
        'extra media/stale.bin',
        'mtime media/sub/name with\nnewline and space',
      ].sort(),
    );
  });

  it('is undefined where the host cannot print the listing, and for a truncated one', async () => {
    expect(await listTree(limited, target)).toBeUndefined();
    expect(await hostClock(limited)).toBeUndefined();
    expect(parseHostListing('L\0f\0' + '644\0')).toBeUndefined();
    expect(parseHostListing('')).toEqual({ entries: new Map(), digests: new Map() });
  });
});

describe('filesToHash', () => {
  const file = (ctime: number): TreeEntry => ({ type: 'f', mode: '644', uid: '0', gid: '0', size: 1, mtime: '1.0', ctime, ctimeText: String(ctime), linkTarget: '' });
  const window = { sourceSince: 1000, targetSince: 5000, rehearsalDifferences: ['old-but-different'] };

  it('picks files changed on either host since the rehearsal (with the clock margin) and those the rehearsal found different', () => {
    const sourceTree = new Map([
      ['untouched', file(900)],
      ['changed-on-source', file(999)],
      ['changed-on-target', file(900)],
      ['old-but-different', file(10)],
      ['dir', { ...file(2000), type: 'd' }],
    ]);
    const targetTree = new Map([
      ['untouched', file(4000)],
      ['changed-on-source', file(4000)],
      ['changed-on-target', file(4999)],
      ['old-but-different', file(10)],
      ['dir', { ...file(6000), type: 'd' }],
    ]);
    expect(filesToHash(sourceTree, targetTree, window).sort()).toEqual(['changed-on-source', 'changed-on-target', 'old-but-different']);
  });
});

describe('hashFiles', () => {
  it('hashes on the host and tells a same-size, same-mtime rewrite apart', async () => {
    const names = ['media/a.bin', 'media/sub/name with\nnewline and space'];
    expect(compareHashes(names, await hashFiles(local, source, names), await hashFiles(local, target, names))).toEqual([]);
    writeFileSync(join(target, 'media', 'a.bin'), 'SAME BYTES');
    utimesSync(join(target, 'media', 'a.bin'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    const { sourceTree, targetTree } = await listings();
    expect(compareTrees(sourceTree, targetTree)).toEqual([]);
    // The rewrite happened after this clock reading's margin began: its ctime gives it away.
    const since = (await hostClock(local))!;
    const toHash = filesToHash(sourceTree, targetTree, { sourceSince: since, targetSince: since, rehearsalDifferences: [] });
    expect(toHash).toContain('media/a.bin');
    expect(compareHashes(toHash, await hashFiles(local, source, toHash), await hashFiles(local, target, toHash))).toEqual(['content media/a.bin']);
  });

  it('counts a file one host could not hash as different', () => {
    expect(compareHashes(['gone'], new Map(), new Map([['gone', 'ab']]))).toEqual(['content gone']);
    expect(compareHashes([], new Map(), new Map())).toEqual([]);
  });
});

describe('hashes made ahead and the target hashing in one command', () => {
  it('hashes what changed since a clock reading or is named, and keeps a digest only while the ctime stays', async () => {
    const since = (await hostClock(local))!;
    // Past the kernel's coarse clock (it stamps files up to a tick behind the reading).
    await new Promise(resolve => setTimeout(resolve, 30));
    writeFileSync(join(source, 'media', 'fresh.bin'), 'fresh');
    const { since: listedAt, files: ahead } = (await hashChangedAhead(local, source, since, ['media/a.bin', 'media/sub']))!;
    // fresh.bin changed after the reading; a.bin is named (the rehearsal found it different); the rest is
    // old, and a named directory has no digest.
    expect(Object.keys(ahead).sort()).toEqual(['media/a.bin', 'media/fresh.bin']);
    expect(listedAt).toBeGreaterThan(since);
    const written = Number(ahead['media/fresh.bin'].ctime);
    let tree = (await listTree(local, source))!;
    // Listed within a tick of its write, fresh.bin's digest is not trusted: a later write could carry the same stamp.
    expect([...stillValid({ since: written + 0.01, files: ahead }, tree).keys()]).not.toContain('media/fresh.bin');
    expect([...stillValid({ since: written + 1, files: ahead }, tree).keys()].sort()).toEqual(['media/a.bin', 'media/fresh.bin']);
    writeFileSync(join(source, 'media', 'fresh.bin'), 'FRESH');
    tree = (await listTree(local, source))!;
    expect([...stillValid({ since: written + 1, files: ahead }, tree).keys()]).toEqual(['media/a.bin']);
    expect(await hashChangedAhead(limited, source, since, [])).toBeUndefined();
  });

  it('leaves out a file the running app deletes between the listing and its read', async () => {
    // Nothing changed since this time: a.bin is hashed because it is named, in a command of its own.
    const since = (await hostClock(local))! + 60;
    const deletingApp: HostShell = {
      role: 'source',
      run: async (argv, options) => {
        if (argv[0] === 'xargs') rmSync(join(source, 'media', 'a.bin'));
        return local.run(argv, options);
      },
    };
    const ahead = (await hashChangedAhead(deletingApp, source, since, ['media/a.bin', 'media/sub/name with\nnewline and space']))!;
    expect(Object.keys(ahead.files)).toEqual(['media/sub/name with\nnewline and space']);
    await expect(hashFiles(local, source, ['media/a.bin'])).rejects.toThrow(/exited with 123/);
  });

});

describe('listAndHash: the listing and the recent digests in one command', () => {
  it('lists the whole tree with the clocks, and the digests of the files changed since a time', async () => {
    const clock = (await readClock(local))!;
    await new Promise(resolve => setTimeout(resolve, 30));
    const odd = 'media/sub/new\nline';
    writeFileSync(join(source, odd), 'fresh');
    const listing = (await listAndHash(local, source, clock.wall))!;
    expect([...listing.entries.keys()].sort()).toEqual(['', 'media', 'media/a.bin', 'media/link', 'media/sub', odd, 'media/sub/name with\nnewline and space'].sort());
    expect(listing.entries.get(odd)).toMatchObject({ type: 'f', size: 5 });
    expect([...listing.digests.keys()]).toEqual([odd]);
    expect(listing.digests.get(odd)).toEqual((await hashFiles(local, source, [odd])).get(odd));
    expect(listing.clock!.wall).toBeGreaterThan(clock.wall);
    expect(listing.clock!.boot).toBeGreaterThanOrEqual(clock.boot);
    expect(clockStepped(clock, listing.clock!)).toBe(false);
    expect((await listAndHash(local, source, clock.wall - 3600))!.digests.size).toBe(3);
    expect(await listAndHash(limited, source, clock.wall)).toBeUndefined();
  });

  it('with flush, lists only once the tree\'s filesystem is on disk, and not at all if it cannot be', async () => {
    // `sync` first on the PATH records where and how it ran, and fails once `fail` exists.
    const bin = join(base, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'sync'), `#!/bin/sh\n[ -e "${base}/fail" ] && exit 1\necho "$PWD $*" >> "${base}/synced"\n`, { mode: 0o755 });
    const flushing: HostShell = { role: 'target', run: (argv, options) => local.run(['env', `PATH=${bin}:${process.env.PATH}`, ...argv], options) };
    const clock = (await readClock(local))!;
    expect(await listAndHash(flushing, target, clock.wall)).toBeDefined();
    expect(existsSync(join(base, 'synced'))).toBe(false);
    expect((await listAndHash(flushing, target, clock.wall, undefined, { flush: true }))?.entries.size).toBe(6);
    expect(readFileSync(join(base, 'synced'), 'utf8')).toBe(`${target} -f .\n`);
    writeFileSync(join(base, 'fail'), '');
    expect(await listAndHash(flushing, target, clock.wall, undefined, { flush: true })).toBeUndefined();
  });

  it('refuses output it cannot read whole', () => {
    expect(parseHostListing('L\0f\0')).toBeUndefined();
    expect(parseHostListing('X\0')).toBeUndefined();
    expect(parseHostListing('C\x001.5\x002.5')).toBeUndefined();
    expect(parseHostListing('C\x001.5\x002.5\0')).toEqual({ clock: { wall: 1.5, boot: 2.5 }, entries: new Map(), digests: new Map() });
  });

  it('tells a stepped wall clock from time passing', () => {
    const earlier = { wall: 1000, boot: 50 };
    expect(clockStepped(earlier, { wall: 1010.2, boot: 60 })).toBe(false);
    expect(clockStepped(earlier, { wall: 1005, boot: 60 })).toBe(true);
    expect(clockStepped(earlier, { wall: 1020, boot: 60 })).toBe(true);
  });
});
