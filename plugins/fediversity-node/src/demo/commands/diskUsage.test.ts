import { execFileSync } from 'node:child_process';
import { link, mkdir, rm, statfs, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DemoGuest } from '../DemoGuest';
import { dfCommand, duCommand } from './diskUsage';
import { makeTestGuest, runDemoCommand } from './testing/runDemoCommand';

describe('demo df and du', () => {
  let guest: DemoGuest;

  beforeAll(async () => {
    guest = await makeTestGuest();
    const app = join(guest.rootDir, 'var/lib/app');
    await mkdir(join(app, 'media/a'), { recursive: true });
    await writeFile(join(app, 'media/a/big'), Buffer.alloc(300_000, 1));
    await writeFile(join(app, 'small'), 'x');
    await link(join(app, 'media/a/big'), join(app, 'media/a/big-again'));
    await symlink('/', join(app, 'root-link'));
  });
  afterAll(async () => {
    await rm(dirname(guest.dir), { recursive: true, force: true });
  });

  it('df reports the free bytes of the file system holding the guest, mounted on /', async () => {
    const result = await runDemoCommand(dfCommand, guest, ['df', '-B1', '--output=avail,target', '--', '/var/lib/app']);
    expect(result.exitCode).toBe(0);
    const [header, row] = result.stdout.split('\n');
    expect(header.trim()).toBe('Avail Mounted on');
    const [available, target] = row.trim().split(/\s+/);
    expect(target).toBe('/');
    const info = await statfs(guest.rootDir);
    // Free space moves while other tests write; within 64 MiB is the same file system.
    expect(Math.abs(Number(available) - info.bavail * info.bsize)).toBeLessThan(64 * 1024 * 1024);
  });

  it('df fails on a missing path (the caller walks up to an existing parent), and on other forms', async () => {
    const missing = await runDemoCommand(dfCommand, guest, ['df', '-B1', '--output=avail,target', '--', '/var/lib/none']);
    expect(missing).toMatchObject({ exitCode: 1, stdout: '', stderr: 'df: /var/lib/none: No such file or directory\n' });
    const other = await runDemoCommand(dfCommand, guest, ['df', '-h', '/']);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toMatch(/supports only `df -B1 --output=avail,target -- <path>…`/);
  });

  it('du -s -B1 agrees with GNU du (hard links once, symlinks not followed)', async () => {
    const result = await runDemoCommand(duCommand, guest, ['du', '-s', '-B1', '--', '/var/lib/app', '/var/lib/none']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe("du: cannot access '/var/lib/none': No such file or directory\n");
    const real = execFileSync('du', ['-s', '-B1', '--', 'var/lib/app'], { cwd: guest.rootDir, encoding: 'utf8' });
    expect(result.stdout).toBe(real.replace('\tvar/lib/app', '\t/var/lib/app'));
    expect(Number(result.stdout.split('\t')[0])).toBeGreaterThan(300_000);
    expect(Number(result.stdout.split('\t')[0])).toBeLessThan(600_000);
  });
});
