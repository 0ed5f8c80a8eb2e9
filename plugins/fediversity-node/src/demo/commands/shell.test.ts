import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PUBLISH_GENERATION_SCRIPT, REVOKE_KEY_SCRIPT, WRITE_PRIVATE_FILE_SCRIPT } from '../../ssh/fixedScripts';
import type { DemoGuest } from '../DemoGuest';
import { NO_SHELL, shellCommand } from './shell';
import { makeTestGuest, runDemoCommand } from './testing/runDemoCommand';

describe('demo sh (the portal fixed scripts only)', () => {
  let guest: DemoGuest;
  let outside: string;
  const inGuest = (path: string) => join(guest.rootDir, path);
  const sh = (args: string[], stdin?: string) => runDemoCommand(shellCommand, guest, ['sh', ...args], { stdin });
  const publish = (generation: string, link: string, current: string, root: string) =>
    sh(['-c', PUBLISH_GENERATION_SCRIPT, 'publish', generation, link, current, root]);

  beforeEach(async () => {
    guest = await makeTestGuest();
    outside = await mkdtemp(join(tmpdir(), 'fediversity-demo-sh-outside-'));
  });
  afterEach(async () => {
    await rm(dirname(guest.dir), { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('refuses every other script, and sh without -c, as a missing shell (127)', async () => {
    for (const args of [
      ['-c', 'echo hi'],
      ['-c', `${WRITE_PRIVATE_FILE_SCRIPT};rm -rf /`, 'sh', '/tmp/x'],
      ['-c', ` ${PUBLISH_GENERATION_SCRIPT}`, 'p', 'a', 'b', 'c', 'd'],
      ['-s'],
      [],
    ]) {
      const result = await sh(args);
      expect(result.exitCode).toBe(127);
      expect(result.stderr).toBe(`${NO_SHELL}\n`);
    }
    expect(await stat(inGuest('tmp/x')).catch(() => undefined)).toBeUndefined();
  });

  it('refuses a known script with another number of arguments', async () => {
    const result = await sh(['-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', '/tmp/a', '/tmp/b']);
    expect(result.exitCode).toBe(2);
    expect(await readdir(inGuest('tmp'))).toEqual([]);
  });

  it('writes stdin to a new file with mode 0600, inside the guest', async () => {
    const result = await sh(['-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', '/tmp/peer.known_hosts'], 'line\n');
    expect(result).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(await readFile(inGuest('tmp/peer.known_hosts'), 'utf8')).toBe('line\n');
    expect((await stat(inGuest('tmp/peer.known_hosts'))).mode & 0o777).toBe(0o600);

    // `..` stops at the guest's `/`; a symlink out of the guest is refused.
    expect((await sh(['-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', '/../../escaped'], 'x')).exitCode).toBe(0);
    expect(await readFile(inGuest('escaped'), 'utf8')).toBe('x');
    await symlink(outside, inGuest('tmp/out'));
    const refused = await sh(['-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', '/tmp/out/file'], 'x');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe('sh: 1: cannot create /tmp/out/file: Permission denied\n');
    expect(await readdir(outside)).toEqual([]);
    const missing = await sh(['-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', '/nowhere/file'], 'x');
    expect(missing.exitCode).toBe(2);
  });

  it("revokes the keys with one comment from root's authorized_keys, as the script does on a host", async () => {
    const file = inGuest('root/.ssh/authorized_keys');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, 'ssh-ed25519 AAAAportal portal\nssh-ed25519 AAAAm fediversity-migration-0123abcd\n\nssh-ed25519 AAAAo fediversity-migration-0123abcde\n', { mode: 0o644 });
    const revoke = () => sh(['-c', REVOKE_KEY_SCRIPT, 'sh', 'fediversity-migration-0123abcd']);
    expect(await revoke()).toMatchObject({ exitCode: 0, stderr: '' });
    expect(await readFile(file, 'utf8')).toBe('ssh-ed25519 AAAAportal portal\n\nssh-ed25519 AAAAo fediversity-migration-0123abcde\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await revoke()).toMatchObject({ exitCode: 0 });
    await rm(file);
    expect(await revoke()).toMatchObject({ exitCode: 0, stderr: '' });
    expect(await stat(file).catch(() => undefined)).toBeUndefined();
  });

  it('publishes a generation (atomic symlink swap) and lists the generation directories', async () => {
    const root = '/var/lib/replicas';
    await mkdir(inGuest('var/lib/replicas/gen-1'), { recursive: true });
    await mkdir(inGuest('var/lib/replicas/gen-2'), { recursive: true });
    await mkdir(inGuest('var/lib/replicas/other'), { recursive: true });
    await writeFile(inGuest('var/lib/replicas/gen-file'), '');

    const first = await publish('gen-1', `${root}/.current-gen-1`, `${root}/current`, root);
    expect(first.exitCode).toBe(0);
    expect(await readlink(inGuest('var/lib/replicas/current'))).toBe('gen-1');
    expect(first.stdout.split('\n').filter(Boolean).sort()).toEqual([`${root}/gen-1`, `${root}/gen-2`]);

    const second = await publish('gen-2', `${root}/.current-gen-2`, `${root}/current`, `${root}/`);
    expect(second.exitCode).toBe(0);
    expect(await readlink(inGuest('var/lib/replicas/current'))).toBe('gen-2');
    expect(second.stdout.split('\n').filter(Boolean).sort()).toEqual([`${root}/gen-1`, `${root}/gen-2`]);
    // The temporary links were renamed into place, not left behind; `current` (a symlink) is not listed.
    expect((await readdir(inGuest('var/lib/replicas'))).sort()).toEqual(['current', 'gen-1', 'gen-2', 'gen-file', 'other']);
  });

  it('confines publish: link targets are names beside the link, paths stay in the guest', async () => {
    await mkdir(inGuest('r'), { recursive: true });
    for (const generation of ['/etc', '../gen-1', '..', 'a/b']) {
      const result = await publish(generation, '/r/.tmp', '/r/current', '/r');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/^ln: demo host: the link target must be a name/);
    }
    expect(await readdir(inGuest('r'))).toEqual([]);

    await symlink(outside, inGuest('r/out'));
    const outLink = await publish('gen-1', '/r/out/.tmp', '/r/current', '/r');
    expect(outLink.exitCode).toBe(1);
    const outCurrent = await publish('gen-1', '/r/.tmp', '/r/out/current', '/r');
    expect(outCurrent).toMatchObject({ exitCode: 1, stdout: '' });
    expect(outCurrent.stderr).toMatch(/^mv: cannot move/);
    const outRoot = await publish('gen-1', '/r/.tmp2', '/r/current', '/r/out');
    expect(outRoot).toMatchObject({ exitCode: 1, stdout: '' });
    expect(outRoot.stderr).toBe("find: '/r/out': Permission denied\n");
    expect(await readdir(outside)).toEqual([]);
    // `..` stops at the guest's `/`.
    const dotdot = await publish('gen-1', '/../../r/.tmp3', '/../../r/current', '/../r');
    expect(dotdot.exitCode).toBe(0);
    expect((await lstat(inGuest('r/current'))).isSymbolicLink()).toBe(true);
  });
});
