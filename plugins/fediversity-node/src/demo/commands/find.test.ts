import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DemoGuest } from '../DemoGuest';
import { findCommand, sha256sumCommand } from './find';
import { makeTestGuest, runDemoCommand } from './testing/runDemoCommand';

/** GNU find run in the guest's root dir on `.<path>`, its output shown with guest paths. */
function realFind(guest: DemoGuest, path: string, expression: string[]): string {
  const output = execFileSync('find', [`.${path}`, ...expression], { cwd: guest.rootDir, encoding: 'utf8' });
  return output.replace(/(^|\n|\0| {2})\.\//g, '$1/');
}

describe('demo find and sha256sum', () => {
  let guest: DemoGuest;
  let outside: string;

  beforeAll(async () => {
    guest = await makeTestGuest();
    outside = await mkdtemp(join(tmpdir(), 'fediversity-demo-outside-'));
    await writeFile(join(outside, 'secret'), 'not for the guest');
    const app = join(guest.rootDir, 'var/lib/app');
    await mkdir(join(app, 'media/deep/er'), { recursive: true });
    await writeFile(join(app, 'media/deep/er/file'), 'deep');
    await writeFile(join(app, 'media/top'), 'top');
    await writeFile(join(app, 'we\\ird name'), 'escaped');
    await writeFile(join(app, '.env'), 'SECRET=1');
    await symlink(outside, join(app, 'out-dir'));
    await symlink(join(outside, 'secret'), join(app, 'out-file'));
  });
  afterAll(async () => {
    await rm(dirname(guest.dir), { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('lists the names directly below a directory, NUL-terminated, like GNU find -printf %f\\0', async () => {
    const argv = ['find', '/var/lib/app/', '-mindepth', '1', '-maxdepth', '1', '-printf', '%f\\0'];
    const result = await runDemoCommand(findCommand, guest, argv);
    expect(result.exitCode).toBe(0);
    const names = result.stdout.split('\0').filter(Boolean).sort();
    expect(names).toEqual(['.env', 'media', 'out-dir', 'out-file', 'we\\ird name']);
    expect(names).toEqual(realFind(guest, '/var/lib/app/', argv.slice(2)).split('\0').filter(Boolean).sort());
  });

  it('hashes every regular file below a path like find -exec sha256sum, without following symlinks out', async () => {
    for (const start of ['/var/lib/app', '/var/lib/app/', '/var/lib/app/.env']) {
      const expression = ['-type', 'f', '-exec', 'sha256sum', '--', '{}', '+'];
      const result = await runDemoCommand(findCommand, guest, ['find', start, ...expression]);
      expect(result.exitCode).toBe(0);
      const sorted = (text: string) => text.split('\n').filter(Boolean).sort();
      expect(sorted(result.stdout)).toEqual(sorted(realFind(guest, start, expression)));
    }
    const all = await runDemoCommand(findCommand, guest, ['find', '/var/lib/app', '-type', 'f', '-exec', 'sha256sum', '--', '{}', '+']);
    expect(all.stdout).not.toMatch(/secret|out-/);
    expect(all.stdout).toContain('\\'); // the escaped name is flagged as GNU sha256sum does
  });

  it('fails like find on a missing start, refuses a start outside the guest and other forms', async () => {
    const hash = ['-type', 'f', '-exec', 'sha256sum', '--', '{}', '+'];
    expect(await runDemoCommand(findCommand, guest, ['find', '/var/lib/none', ...hash])).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr: "find: '/var/lib/none': No such file or directory\n",
    });
    const out = await runDemoCommand(findCommand, guest, ['find', '/var/lib/app/out-dir', ...hash]);
    expect(out).toMatchObject({ exitCode: 1, stdout: '' });
    for (const argv of [
      ['find', '/var/lib/app'],
      ['find', '/var/lib/app', '-type', 'f', '-delete'],
      ['find', '/var/lib/app', '-type', 'f', '-exec', 'rm', '--', '{}', '+'],
      ['find', '-L', '/var/lib/app', ...hash],
    ]) {
      const result = await runDemoCommand(findCommand, guest, argv);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/supports only/);
    }
  });

  it('sha256sum -- hashes files inside the guest only', async () => {
    const result = await runDemoCommand(sha256sumCommand, guest, ['sha256sum', '--', '/var/lib/app/media/top', '/var/lib/app/out-file']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe(execFileSync('sha256sum', ['--', 'var/lib/app/media/top'], { cwd: guest.rootDir, encoding: 'utf8' }).replace('  var', '  /var'));
    expect(result.stderr).toBe('sha256sum: /var/lib/app/out-file: Permission denied\n');
  });
});
