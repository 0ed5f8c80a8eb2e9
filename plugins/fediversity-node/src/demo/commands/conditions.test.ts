import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DemoGuest } from '../DemoGuest';
import { testCommand } from './conditions';
import { makeTestGuest, runDemoCommand } from './testing/runDemoCommand';

describe('demo test', () => {
  let guest: DemoGuest;
  let outside: string;

  beforeAll(async () => {
    guest = await makeTestGuest();
    outside = await mkdtemp(join(tmpdir(), 'fediversity-demo-outside-'));
    await mkdir(join(guest.rootDir, 'tmp/control.ssh'));
    await writeFile(join(guest.rootDir, 'tmp/empty'), '');
    await symlink('control.ssh', join(guest.rootDir, 'tmp/link-in'));
    await symlink(outside, join(guest.rootDir, 'tmp/link-out'));
  });
  afterAll(async () => {
    await rm(dirname(guest.dir), { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const exitOf = async (...args: string[]) => (await runDemoCommand(testCommand, guest, ['test', ...args])).exitCode;

  it('answers single file tests, following symlinks only inside the guest', async () => {
    expect(await exitOf('-d', '/tmp/control.ssh')).toBe(0);
    expect(await exitOf('-f', '/tmp/control.ssh')).toBe(1);
    expect(await exitOf('-e', '/tmp/none')).toBe(1);
    expect(await exitOf('-f', '/tmp/empty')).toBe(0);
    expect(await exitOf('-s', '/tmp/empty')).toBe(1);
    expect(await exitOf('-d', '/tmp/link-in')).toBe(0);
    expect(await exitOf('-d', '/tmp/link-out')).toBe(1);
    expect(await exitOf('-L', '/tmp/link-out')).toBe(0);
    expect(await exitOf('!', '-e', '/tmp/none')).toBe(0);
  });

  it('checks "a directory of mine, not a symlink" as the migration does before using it for a socket', async () => {
    const owned = (path: string) => exitOf('-O', path, '-a', '-d', path, '-a', '!', '-L', path);
    expect(await owned('/tmp/control.ssh')).toBe(0);
    expect(await owned('/tmp/link-in')).toBe(1);
    expect(await owned('/tmp/none')).toBe(1);
  });

  it('exits 2 on any other expression', async () => {
    for (const args of [['-x', '/tmp'], ['-d'], ['-d', '/tmp', '-o', '-e', '/tmp'], ['-d', '/tmp', '-a'], ['/tmp']]) {
      expect(await exitOf(...args)).toBe(2);
    }
  });
});
