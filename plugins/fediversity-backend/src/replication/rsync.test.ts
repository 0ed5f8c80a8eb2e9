import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replicateFiles, FilesReplicationOptions } from './rsync';
import { startTestSshHosts, TestSshHosts } from './__testUtils__/sshHosts';
import { treeHash } from './__testUtils__/treeHash';

jest.setTimeout(120_000);

let hosts: TestSshHosts | string;
let dir: string;

beforeAll(async () => {
  hosts = await startTestSshHosts();
  dir = await mkdtemp(join(tmpdir(), 'fediversity-rsync-'));
});

afterAll(async () => {
  if (typeof hosts !== 'string') await hosts?.stop();
  await rm(dir, { recursive: true, force: true });
});

let clock = Date.parse('2026-11-25T20:00:00Z');

async function setup(name: string) {
  const source = join(dir, name, 'source');
  const targetRoot = join(dir, name, 'replica');
  await mkdir(join(source, 'media'), { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(join(source, 'media', `f${i}`), randomBytes(16 * 1024));
  const marker = join(dir, name, 'quiesced');
  const env = hosts as TestSshHosts;
  const options = (extra: Partial<FilesReplicationOptions> = {}): FilesReplicationOptions => ({
    source: env.source,
    sourcePath: source,
    target: env.target,
    targetRoot,
    peer: env.peer,
    quiesce: [['touch', marker]],
    unquiesce: [['rm', '-f', marker], ['touch', `${marker}.released`]],
    keepGenerations: 2,
    now: () => (clock += 1000),
    ...extra,
  });
  return { source, targetRoot, marker, options };
}

describe('replicateFiles (rsync over SSH, host to host)', () => {
  it('copies under quiesce into a new generation, resyncs only changes, prunes old generations', async () => {
    if (typeof hosts === 'string') {
      console.warn(`Skipping: ${hosts}`);
      return;
    }
    const { source, targetRoot, marker, options } = await setup('basic');
    const first = await replicateFiles(options({ livePass: true }));
    expect(first.transferredFiles).toBeGreaterThanOrEqual(0);
    expect(treeHash(join(targetRoot, 'current'))).toBe(treeHash(source));
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${marker}.released`)).toBe(true);

    const unchanged = await replicateFiles(options());
    expect(unchanged.transferredFiles).toBe(0);
    expect(treeHash(join(targetRoot, 'current'))).toBe(treeHash(source));
    // Unchanged files are hard links into the previous generation, not copies.
    const inode = async (gen: string) => (await stat(join(targetRoot, gen, 'media', 'f0'))).ino;
    expect(await inode(unchanged.generation)).toBe(await inode(first.generation));

    // Same size, same second as the copy the last run saw: found by the mtime's fraction.
    const f3 = join(source, 'media', 'f3');
    const second = Math.floor((await stat(f3)).mtimeMs / 1000);
    await writeFile(f3, randomBytes(16 * 1024));
    await utimes(f3, second + 0.5, second + 0.5);
    const changed = await replicateFiles(options());
    expect(changed.transferredFiles).toBe(1);
    expect(changed.removedGenerations).toEqual([first.generation]);
    expect(await readlink(join(targetRoot, 'current'))).toBe(changed.generation);
    expect(treeHash(join(targetRoot, 'current'))).toBe(treeHash(source));
  });

  it('finds a same-size, same-mtime rewrite only with checksums', async () => {
    if (typeof hosts === 'string') return;
    const { source, targetRoot, options } = await setup('checksum');
    // A whole second, which utimes sets exactly (mtimes are compared to the nanosecond).
    const file = join(source, 'media', 'f1');
    const mtime = new Date('2026-11-25T20:00:00Z');
    await utimes(file, mtime, mtime);
    await replicateFiles(options());
    await writeFile(file, randomBytes(16 * 1024));
    await utimes(file, mtime, mtime);
    await replicateFiles(options());
    expect(treeHash(join(targetRoot, 'current'))).not.toBe(treeHash(source));
    await replicateFiles(options({ checksum: true }));
    expect(treeHash(join(targetRoot, 'current'))).toBe(treeHash(source));
  });

  it('keeps the last good copy and unquiesces when a run fails', async () => {
    if (typeof hosts === 'string') return;
    const { source, targetRoot, marker, options } = await setup('failure');
    const good = await replicateFiles(options());
    const goodHash = treeHash(join(targetRoot, 'current'));
    await rm(`${marker}.released`);
    await expect(replicateFiles(options({ sourcePath: join(source, 'missing') }))).rejects.toThrow(/rsync failed/);
    expect(await readlink(join(targetRoot, 'current'))).toBe(good.generation);
    expect(treeHash(join(targetRoot, 'current'))).toBe(goodHash);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${marker}.released`)).toBe(true);
  });
});
