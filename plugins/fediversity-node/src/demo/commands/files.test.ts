import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DemoGuest } from '../DemoGuest';
import { chmodCommand, mkdirCommand, rmCommand, syncCommand, teeCommand } from './files';
import { makeTestGuest, runDemoCommand } from './testing/runDemoCommand';

describe('demo file commands', () => {
  let guest: DemoGuest;
  let outside: string;

  beforeAll(async () => {
    guest = await makeTestGuest();
    outside = await mkdtemp(join(tmpdir(), 'fediversity-demo-outside-'));
    await writeFile(join(outside, 'keep'), 'precious');
    await symlink(outside, join(guest.rootDir, 'var/lib/out'));
  });
  afterAll(async () => {
    await rm(dirname(guest.dir), { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const local = (path: string) => join(guest.rootDir, path);

  it('mkdir -p -- creates directories inside the guest only', async () => {
    expect(await runDemoCommand(mkdirCommand, guest, ['mkdir', '-p', '--', '/srv/a/b', '/../../srv/c'])).toMatchObject({ exitCode: 0 });
    expect((await stat(local('srv/a/b'))).isDirectory()).toBe(true);
    expect((await stat(local('srv/c'))).isDirectory()).toBe(true);
    const escape = await runDemoCommand(mkdirCommand, guest, ['mkdir', '-p', '--', '/var/lib/out/planted']);
    expect(escape).toMatchObject({ exitCode: 1, stderr: "mkdir: cannot create directory '/var/lib/out/planted': Permission denied\n" });
    expect(existsSync(join(outside, 'planted'))).toBe(false);
    const onFile = await runDemoCommand(mkdirCommand, guest, ['mkdir', '-p', '--', '/etc/hostname/x']);
    expect(onFile.exitCode).toBe(1);
    expect(onFile.stderr).toMatch(/cannot create directory '\/etc\/hostname\/x': Not a directory/);
  });

  it('mkdir -p -m sets the mode of a directory it creates; chmod sets it on any', async () => {
    expect(await runDemoCommand(mkdirCommand, guest, ['mkdir', '-p', '-m', '0700', '--', '/tmp/private/sub'])).toMatchObject({ exitCode: 0 });
    expect((await stat(local('tmp/private/sub'))).mode & 0o777).toBe(0o700);
    await mkdir(local('tmp/open'), { mode: 0o755 });
    await runDemoCommand(mkdirCommand, guest, ['mkdir', '-p', '-m', '0700', '--', '/tmp/open']);
    expect((await stat(local('tmp/open'))).mode & 0o777).toBe(0o755);
    expect(await runDemoCommand(chmodCommand, guest, ['chmod', '0700', '--', '/tmp/open'])).toMatchObject({ exitCode: 0 });
    expect((await stat(local('tmp/open'))).mode & 0o777).toBe(0o700);
    const escape = await runDemoCommand(chmodCommand, guest, ['chmod', '0777', '--', '/var/lib/out']);
    expect(escape.exitCode).toBe(1);
    expect((await stat(outside)).mode & 0o777).not.toBe(0o777);
    for (const argv of [['chmod', 'u+x', '--', '/tmp/open'], ['chmod', '-R', '0700', '/tmp'], ['mkdir', '-p', '-m', 'u=rwx', '--', '/tmp/x']]) {
      expect((await runDemoCommand(argv[0] === 'chmod' ? chmodCommand : mkdirCommand, guest, argv)).exitCode).toBe(1);
    }
  });

  it('refuses every other mkdir, rm and tee form with a usage message and exit 1', async () => {
    for (const [command, argv] of [
      [mkdirCommand, ['mkdir', '/x']],
      [mkdirCommand, ['mkdir', '-p', '/x']],
      [mkdirCommand, ['mkdir', '-p', '--']],
      [rmCommand, ['rm', '-r', '--', '/x']],
      [rmCommand, ['rm', '/x']],
      [teeCommand, ['tee', '-a', '--', '/x']],
    ] as const) {
      const result = await runDemoCommand(command, guest, [...argv]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/this demo host supports only `/);
    }
    expect(existsSync(local('x'))).toBe(false);
  });

  it('sync -f -- flushes paths inside the guest and fails on one that is missing or outside', async () => {
    await mkdir(local('srv/flushed'), { recursive: true });
    expect(await runDemoCommand(syncCommand, guest, ['sync', '-f', '--', '/srv/flushed'])).toMatchObject({ exitCode: 0, stderr: '' });
    expect(await runDemoCommand(syncCommand, guest, ['sync', '-f', '--', '/srv/missing'])).toMatchObject({ exitCode: 1 });
    expect((await runDemoCommand(syncCommand, guest, ['sync', '-f', '--', '/var/lib/out'])).exitCode).toBe(1);
    expect((await runDemoCommand(syncCommand, guest, ['sync', '/srv/flushed'])).exitCode).toBe(1);
  });

  it('tee -- writes stdin to the file and to stdout', async () => {
    const line = '[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nza\n';
    const result = await runDemoCommand(teeCommand, guest, ['tee', '--', '/tmp/known_hosts'], { stdin: line });
    expect(result).toEqual({ exitCode: 0, stdout: line, stderr: '' });
    expect(await readFile(local('tmp/known_hosts'), 'utf8')).toBe(line);
    // Truncates on rewrite, like tee without -a.
    await runDemoCommand(teeCommand, guest, ['tee', '--', '/tmp/known_hosts'], { stdin: 'x' });
    expect(await readFile(local('tmp/known_hosts'), 'utf8')).toBe('x');
    const escape = await runDemoCommand(teeCommand, guest, ['tee', '--', '/var/lib/out/keep'], { stdin: 'overwritten' });
    expect(escape.exitCode).toBe(1);
    expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('precious');
    const missingDir = await runDemoCommand(teeCommand, guest, ['tee', '--', '/nowhere/file'], { stdin: 'x' });
    expect(missingDir).toMatchObject({ exitCode: 1, stderr: 'tee: /nowhere/file: No such file or directory\n' });
  });

  it('rm -f and rm -rf remove entries inside the guest and never follow symlinks out', async () => {
    await mkdir(local('var/lib/app/sub'), { recursive: true });
    await writeFile(local('var/lib/app/sub/f'), 'x');
    await writeFile(local('tmp/list'), 'x');
    await symlink(outside, local('var/lib/app/link-out'));

    expect(await runDemoCommand(rmCommand, guest, ['rm', '-f', '--', '/tmp/list', '/tmp/missing'])).toMatchObject({ exitCode: 0 });
    expect(existsSync(local('tmp/list'))).toBe(false);
    const dir = await runDemoCommand(rmCommand, guest, ['rm', '-f', '--', '/var/lib/app']);
    expect(dir).toMatchObject({ exitCode: 1, stderr: "rm: cannot remove '/var/lib/app': Is a directory\n" });

    expect(await runDemoCommand(rmCommand, guest, ['rm', '-rf', '--', '/var/lib/app'])).toMatchObject({ exitCode: 0 });
    expect(existsSync(local('var/lib/app'))).toBe(false);
    expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('precious');

    // The symlink itself goes, what it points to stays.
    expect(await runDemoCommand(rmCommand, guest, ['rm', '-f', '--', '/var/lib/out'])).toMatchObject({ exitCode: 0 });
    await expect(lstat(local('var/lib/out'))).rejects.toThrow();
    expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('precious');
    await symlink(outside, local('var/lib/out'));

    const through = await runDemoCommand(rmCommand, guest, ['rm', '-rf', '--', '/var/lib/out/keep']);
    expect(through.exitCode).toBe(1);
    expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('precious');

    for (const root of ['/', '/..', '/../../']) {
      const result = await runDemoCommand(rmCommand, guest, ['rm', '-rf', '--', root]);
      expect(result.exitCode).toBe(1);
    }
    expect((await runDemoCommand(rmCommand, guest, ['rm', '-rf', '--', '/'])).stderr).toMatch(/dangerous to operate recursively on '\/'/);
    expect(existsSync(local('etc/os-release'))).toBe(true);
  });
});
