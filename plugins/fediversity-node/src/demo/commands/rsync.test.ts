import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownHostsLine } from '../../ssh/hostKeys';
import { rsyncPushArgv, sshArgv } from '../../ssh/hostToHost';
import { generateSshKeyPair } from '../../ssh/keys';
import { SshConnection } from '../../ssh/SshConnection';
import type { DemoGuest } from '../DemoGuest';
import { DemoHostServer } from '../DemoHostServer';
import { defaultDemoCommands } from '.';

// Real servers and rsync on a shared 2-core machine: allow for load, not for hangs.
jest.setTimeout(60_000);

const KNOWN_HOSTS = '/tmp/fediversity-migration-test.known_hosts';
const IDENTITY = '/root/.ssh/fediversity_peer';
const HASH = ['-type', 'f', '-exec', 'sha256sum', '--', '{}', '+'];

interface Pass {
  sourcePath: string;
  targetPath: string;
  mode: 'live' | 'final' | 'verify';
  filesFrom?: string;
  /** Inserted after `rsync`, e.g. a bandwidth limit to make a pass slow. */
  extra?: string[];
  port?: number;
  host?: string;
  username?: string;
  /** Source and destination path as given, past rsyncPushArgv's own checks (hostile input). */
  raw?: boolean;
  /** Words appended to the -e value (the window's passes add connection sharing options). */
  shellExtra?: string[];
}

describe('demo rsync between guests', () => {
  let dataDir: string;
  let outside: string;
  let server: DemoHostServer;
  let source: SshConnection;
  let target: SshConnection;
  let sourceGuest: DemoGuest;
  let targetGuest: DemoGuest;
  const client = generateSshKeyPair('portal');

  /** The argv the backend's rsyncFromSource (migration/rsync.ts) runs on the source host. */
  const migrationArgv = (pass: Pass) => {
    const argv = rsyncPushArgv({
      sourcePath: pass.raw ? '/placeholder' : pass.sourcePath,
      targetPath: pass.raw ? '/placeholder' : pass.targetPath,
      peer: {
        host: pass.host ?? server.host,
        port: pass.port ?? server.port,
        username: pass.username ?? 'ct-302',
        knownHostsFile: KNOWN_HOSTS,
        identityFile: IDENTITY,
        connectTimeoutSeconds: 10,
      },
      delete: pass.mode !== 'live',
      partial: pass.mode === 'live',
      checksum: pass.mode === 'verify',
      numericIds: true,
    });
    const extra = ['--checksum-choice=xxh128', '--modify-window=-1', ...(pass.extra ?? [])];
    if (pass.mode === 'verify') extra.push('--dry-run', '--itemize-changes', '--out-format=%i %n');
    if (pass.filesFrom) extra.push('-r', '--from0', `--files-from=${pass.filesFrom}`);
    argv.splice(1, 0, ...extra);
    const shell = argv.indexOf('-e') + 1;
    argv[shell] = [argv[shell], '-o', 'Ciphers=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com', ...(pass.shellExtra ?? [])].join(' ');
    if (pass.raw) argv.splice(-2, 2, pass.sourcePath, argv[argv.length - 1].replace('/placeholder', pass.targetPath));
    return argv;
  };
  const push = (pass: Pass, signal?: AbortSignal) => source.run(migrationArgv(pass), { check: false, signal });
  const hashes = async (connection: SshConnection, path: string) => {
    const result = await connection.run(['find', path, ...HASH]);
    return result.stdout.split('\n').filter(Boolean).map(line => line.replace(path, '<root>')).sort();
  };
  const trustServer = (line = knownHostsLine(server.host, server.port, server.hostKey.publicKey)) =>
    source.run(['tee', '--', KNOWN_HOSTS], { stdin: line });
  const inSource = (path: string) => join(sourceGuest.rootDir, path);
  const inTarget = (path: string) => join(targetGuest.rootDir, path);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fediversity-demo-rsync-'));
    outside = await mkdtemp(join(tmpdir(), 'fediversity-demo-outside-'));
    await writeFile(join(outside, 'secret'), 'outside the guests');
    server = await DemoHostServer.start({ dataDir, authorizedKey: client.publicKey, commands: defaultDemoCommands() });
    source = await SshConnection.connect({ ...(await server.ensureGuest('ct-301')), privateKey: client.privateKey });
    target = await SshConnection.connect({ ...(await server.ensureGuest('ct-302')), privateKey: client.privateKey });
    sourceGuest = await server.guest('ct-301');
    targetGuest = await server.guest('ct-302');

    const app = inSource('var/lib/app');
    await mkdir(join(app, 'media/cache/deep'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(app, 'media', `file-${i}`), randomBytes(1000 + i * 97));
    await writeFile(join(app, 'media/cache/deep/blob'), randomBytes(200_000));
    await writeFile(join(app, 'db.sqlite'), randomBytes(50_000));
    await link(join(app, 'db.sqlite'), join(app, 'db.hardlink'));
    await symlink('media/file-1', join(app, 'inside-link'));
    await symlink(outside, join(app, 'outside-link'));
    // Both the portal's key (the server accepts it) and the known_hosts file live on the source guest.
    await source.uploadFile(IDENTITY, client.privateKey, { mode: 0o600, mkdirs: true });
    await trustServer();
    await target.run(['mkdir', '-p', '--', '/var/lib/app']);
  });

  afterAll(async () => {
    source?.close();
    target?.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('prints the real rsync version', async () => {
    const version = await source.run(['rsync', '--version']);
    expect(version.stdout).toMatch(/^rsync\s+version\s+v?3\.\d+\.\d+/);
  });

  it('pushes a tree guest to guest; verify then lists nothing, and exactly the one file changed', async () => {
    const live = await push({ sourcePath: '/var/lib/app/', targetPath: '/var/lib/app/', mode: 'live' });
    expect(live.stderr).toMatch(/\[demo host\] ct-301 → ct-302/);
    expect(live.exitCode).toBe(0);
    expect(live.stderr).not.toContain(dataDir);
    expect(await hashes(target, '/var/lib/app')).toEqual(await hashes(source, '/var/lib/app'));
    expect(await hashes(target, '/var/lib/app')).toHaveLength(43);
    // Symlinks arrive as symlinks, hard links as hard links; nothing from outside is copied.
    expect(await readlink(inTarget('var/lib/app/outside-link'))).toBe(outside);
    expect(await readlink(inTarget('var/lib/app/inside-link'))).toBe('media/file-1');
    expect((await lstat(inTarget('var/lib/app/db.hardlink'))).ino).toBe((await lstat(inTarget('var/lib/app/db.sqlite'))).ino);
    expect(await readdir(outside)).toEqual(['secret']);

    const verify = { sourcePath: '/var/lib/app/', targetPath: '/var/lib/app/', mode: 'verify' as const };
    const identical = await push(verify);
    expect(identical.exitCode).toBe(0);
    expect(identical.stdout).toBe('');

    // Same size, same mtime, different bytes: only the checksum pass sees it.
    const changed = inSource('var/lib/app/media/file-7');
    const before = await lstat(changed);
    await writeFile(changed, randomBytes(before.size));
    await utimes(changed, before.atime, before.mtime);
    const differs = await push(verify);
    expect(differs.exitCode).toBe(0);
    expect(differs.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^>fc\S* media\/file-7$/)]);

    const final = await push({ ...verify, mode: 'final' });
    expect(final.exitCode).toBe(0);
    expect((await push(verify)).stdout).toBe('');
  });

  it('passes --debug through, so a final pass can report its transfer’s end', async () => {
    const result = await push({ sourcePath: '/var/lib/app/', targetPath: '/var/lib/debug/', mode: 'final', extra: ['--debug=EXIT2'] });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^client_run waiting on \d+$/m);
    expect(await hashes(target, '/var/lib/debug')).toEqual(await hashes(source, '/var/lib/app'));
  });

  it('pushes parallel --files-from streams as the first migration pass does', async () => {
    const listing = await source.run(['find', '/var/lib/app/', '-mindepth', '1', '-maxdepth', '1', '-printf', '%f\\0']);
    const entries = listing.stdout.split('\0').filter(Boolean);
    await target.run(['mkdir', '-p', '--', '/srv/copy']);
    await Promise.all(
      [0, 1].map(async stream => {
        const list = `${KNOWN_HOSTS}.files-media.${stream}.list`;
        const mine = entries.filter((_entry, index) => index % 2 === stream);
        await source.run(['tee', '--', list], { stdin: `${mine.join('\0')}\0` });
        const result = await push({ sourcePath: '/var/lib/app/', targetPath: '/srv/copy/', mode: 'live', filesFrom: list });
        expect(result.stderr).not.toMatch(/rsync:|rsync error/);
        expect(result.exitCode).toBe(0);
        await source.run(['rm', '-f', '--', list]);
      }),
    );
    expect(await hashes(target, '/srv/copy')).toEqual(await hashes(source, '/var/lib/app'));
    expect(existsSync(inSource(`${KNOWN_HOSTS}.files-media.0.list`))).toBe(false);
  });

  it('opens and closes a shared host-to-host connection as the downtime window does (ssh, ControlMaster)', async () => {
    const control = '/tmp/fediversity-migration-test.ssh';
    await source.run(['mkdir', '-p', '-m', '0700', '--', control]);
    expect((await source.run(['test', '-O', control, '-a', '-d', control, '-a', '!', '-L', control], { check: false })).exitCode).toBe(0);
    await source.run(['chmod', '0700', '--', control]);
    const peer = { host: server.host, port: server.port, username: 'ct-302', knownHostsFile: KNOWN_HOSTS, identityFile: IDENTITY };
    const open = sshArgv(peer, ['true']);
    open.splice(1, 0, '-o', 'ControlMaster=auto', '-o', `ControlPath=${control}/control`, '-o', 'ControlPersist=610');
    expect(await source.run(open, { check: false })).toMatchObject({ exitCode: 0 });
    // Sessions that find no control master connect on their own, as ssh's do.
    const shared = ['-o', 'ControlMaster=no', '-o', `ControlPath=${control}/control`];
    const verify = await push({ sourcePath: '/var/lib/app/', targetPath: '/var/lib/app/', mode: 'verify', shellExtra: shared });
    expect(verify).toMatchObject({ exitCode: 0, stdout: '' });
    const close = await source.run(['ssh', '-o', `ControlPath=${control}/control`, '-O', 'exit', '--', 'fediversity-peer'], { check: false });
    expect(close.exitCode).toBe(255);
    await source.run(['rm', '-rf', '--', control]);

    const elsewhere = sshArgv({ ...peer, port: server.port + 1 }, ['true']);
    expect((await source.run(elsewhere, { check: false })).stderr).toMatch(/can only reach other demo guests/);
    const command = await source.run(sshArgv(peer, ['cat', '/etc/hostname']), { check: false });
    expect(command.exitCode).toBe(127);
    expect(command.stderr).toMatch(/runs only `true`/);
    const untrusted = await source.run(sshArgv({ ...peer, knownHostsFile: '/tmp/none' }, ['true']), { check: false });
    expect(untrusted.exitCode).toBe(255);
    expect(untrusted.stderr).toMatch(/Host key verification failed\./);
  });

  it('refuses, as ssh would, without a known_hosts entry pinning this server', async () => {
    const pass = { sourcePath: '/var/lib/app/', targetPath: '/var/lib/refused/', mode: 'live' as const };
    try {
      await source.run(['rm', '-f', '--', KNOWN_HOSTS]);
      const missing = await push(pass);
      expect(missing.exitCode).toBe(255);
      expect(missing.stderr).toMatch(/No ED25519 host key is known for \[127\.0\.0\.1\]:\d+[\s\S]*Host key verification failed\./);

      await trustServer(knownHostsLine(server.host, server.port, generateSshKeyPair().publicKey));
      const wrongKey = await push(pass);
      expect(wrongKey.exitCode).toBe(255);
      expect(wrongKey.stderr).toMatch(/HAS CHANGED[\s\S]*Host key verification failed\./);

      await trustServer(knownHostsLine(server.host, server.port + 1, server.hostKey.publicKey));
      const wrongPort = await push(pass);
      expect(wrongPort.exitCode).toBe(255);
      expect(wrongPort.stderr).toMatch(/Host key verification failed\./);

      // A known_hosts file on the target guest (or anywhere but the source) does not count.
      await target.run(['tee', '--', KNOWN_HOSTS], { stdin: knownHostsLine(server.host, server.port, server.hostKey.publicKey) });
      expect((await push(pass)).exitCode).toBe(255);
      expect(existsSync(inTarget('var/lib/refused'))).toBe(false);
    } finally {
      await trustServer();
    }
    expect((await push(pass)).exitCode).toBe(0);
  });

  it('reaches only the guests of this server, logging in with an accepted key', async () => {
    const pass = { sourcePath: '/var/lib/app/', targetPath: '/var/lib/elsewhere/', mode: 'live' as const };
    for (const elsewhere of [{ port: server.port + 1 }, { host: 'example.org' }, { host: '10.0.0.1' }]) {
      const result = await push({ ...pass, ...elsewhere });
      expect(result.exitCode).toBe(255);
      expect(result.stderr).toMatch(/demo host: can only reach other demo guests of this server/);
    }
    // localhost reaches this server too, but ssh looks its key up under that name.
    const byName = await push({ ...pass, host: 'localhost' });
    expect(byName.exitCode).toBe(255);
    expect(byName.stderr).toMatch(/No ED25519 host key is known for \[localhost\]:\d+/);
    const noGuest = await push({ ...pass, username: 'ct-999' });
    expect(noGuest.exitCode).toBe(255);
    expect(noGuest.stderr).toMatch(/ct-999@127\.0\.0\.1: Permission denied \(publickey\)\./);

    const stranger = generateSshKeyPair('stranger');
    await source.uploadFile(IDENTITY, stranger.privateKey, { mode: 0o600 });
    try {
      const refused = await push(pass);
      expect(refused.exitCode).toBe(255);
      expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
      // The target guest may authorise a key of its own, like a real host's authorized_keys.
      await target.uploadFile('/root/.ssh/authorized_keys', `# migration key\nrestrict ${stranger.publicKey}\n`, { mkdirs: true });
      expect((await push(pass)).exitCode).toBe(0);
      // Like ssh, a private key file others may read is ignored (`tee` creates files 0644).
      await source.run(['rm', '-f', '--', IDENTITY]);
      await source.run(['tee', '--', IDENTITY], { stdin: stranger.privateKey });
      const tooOpen = await push(pass);
      expect(tooOpen.exitCode).toBe(255);
      expect(tooOpen.stderr).toMatch(/Permissions 0644 for '\/root\/\.ssh\/fediversity_peer' are too open/);
    } finally {
      await source.uploadFile(IDENTITY, client.privateKey, { mode: 0o600 });
      await target.run(['rm', '-f', '--', '/root/.ssh/authorized_keys']);
    }
    const noShell = await source.run(['rsync', '-a', '-e', 'sh -c id', '--', '/var/lib/app/', 'ct-302@127.0.0.1:/x/'], { check: false });
    expect(noShell.exitCode).toBe(255);
    expect(noShell.stderr).toMatch(/only ssh/);
  });

  it('keeps hostile paths inside the guests', async () => {
    // `..` stops at the guest's root: this copies the source guest's own /etc, not the machine's.
    const dotdot = await push({ sourcePath: '/var/lib/app/../../../../../etc/', targetPath: '/../../../escaped/', mode: 'live', raw: true });
    expect(dotdot.exitCode).toBe(0);
    expect(await readFile(inTarget('escaped/os-release'), 'utf8')).toMatch(/Fediversity demo host/);
    expect(existsSync(inTarget('escaped/passwd'))).toBe(false);
    expect(existsSync(join(dataDir, 'escaped'))).toBe(false);

    // A source or target path through a symlink that leaves the guest is refused before rsync runs.
    const throughSource = await push({ sourcePath: '/var/lib/app/outside-link/', targetPath: '/var/lib/stolen/', mode: 'live' });
    expect(throughSource.exitCode).toBe(23);
    expect(existsSync(inTarget('var/lib/stolen'))).toBe(false);
    await symlink(outside, inTarget('var/lib/planted'));
    const throughTarget = await push({ sourcePath: '/var/lib/app/', targetPath: '/var/lib/planted/', mode: 'live' });
    expect(throughTarget.exitCode).toBe(3);
    expect(throughTarget.stderr).not.toContain(outside);
    expect(await readdir(outside)).toEqual(['secret']);

    // rsync would follow a symlinked directory named in a --files-from list; the demo host refuses it.
    for (const entry of ['outside-link/secret', '../../../../../etc/passwd']) {
      await source.run(['tee', '--', '/tmp/hostile.list'], { stdin: `${entry}\0` });
      const listed = await push({ sourcePath: '/var/lib/app/', targetPath: '/var/lib/listed/', mode: 'live', filesFrom: '/tmp/hostile.list' });
      expect(listed.exitCode).toBe(1);
    }
    expect(existsSync(inTarget('var/lib/listed'))).toBe(false);

    // Options that name other paths or follow symlinks never reach rsync.
    for (const option of ['-L', '-K', '-k', '--copy-links', '--temp-dir=/tmp', '--log-file=/tmp/x', '--rsync-path=id']) {
      const result = await push({ sourcePath: '/var/lib/app/', targetPath: '/var/lib/opts/', mode: 'live', extra: [option] });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/is not supported by this demo host/);
    }
    expect(existsSync(inTarget('var/lib/opts'))).toBe(false);
  });

  it('translates --mkpath and --link-dest into the destination guest, as replication runs them', async () => {
    const generation = (name: string, linkDest?: string) =>
      push({
        sourcePath: '/var/lib/app/media/',
        targetPath: `/srv/gens/${name}/`,
        mode: 'live',
        extra: ['--mkpath', ...(linkDest ? [`--link-dest=${linkDest}`] : [])],
      });
    // The first run has no current generation yet: rsync warns and copies.
    const first = await generation('gen-1', '/srv/gens/current/');
    expect(first.exitCode).toBe(0);
    expect(await hashes(target, '/srv/gens/gen-1')).toEqual(await hashes(source, '/var/lib/app/media'));
    await symlink('gen-1', inTarget('srv/gens/current'));
    const second = await generation('gen-2', '/srv/gens/current/');
    expect(second.exitCode).toBe(0);
    expect(second.stderr).not.toContain(targetGuest.rootDir);
    const inode = async (path: string) => (await lstat(inTarget(path))).ino;
    expect(await inode('srv/gens/gen-2/file-3')).toBe(await inode('srv/gens/gen-1/file-3'));
    // `..` stops at the guest's `/`.
    expect((await generation('gen-3', '/../../srv/gens/gen-1/')).exitCode).toBe(0);
    expect(await inode('srv/gens/gen-3/cache/deep/blob')).toBe(await inode('srv/gens/gen-1/cache/deep/blob'));

    const relative = await generation('gen-4', '../gen-1/');
    expect(relative.exitCode).toBe(1);
    expect(relative.stderr).toMatch(/--link-dest must be an absolute path/);
    // A link-dest through a symlink out of the guest, or holding one (rsync would look files up through it and
    // hard-link what it finds outside), is refused before rsync runs.
    await symlink(outside, inTarget('srv/out'));
    await mkdir(inTarget('srv/holder/media'), { recursive: true });
    await symlink(outside, inTarget('srv/holder/media/cache'));
    for (const linkDest of ['/srv/out/', '/srv/holder/media/']) {
      const refused = await generation('gen-5', linkDest);
      expect(refused.exitCode).toBe(3);
      expect(refused.stderr).toMatch(/Permission denied/);
      expect(refused.stderr).not.toContain(outside);
    }
    expect(existsSync(inTarget('srv/gens/gen-5'))).toBe(false);
    expect(await readdir(outside)).toEqual(['secret']);
  });

  it('kills rsync when the client aborts', async () => {
    await writeFile(inSource('var/lib/big'), randomBytes(4 * 1024 * 1024));
    const controller = new AbortController();
    const started = Date.now();
    const running = push({ sourcePath: '/var/lib/big', targetPath: '/var/lib/', mode: 'live', extra: ['--bwlimit=64'] }, controller.signal);
    while ((await rsyncProcessesFor(targetGuest.rootDir)).length === 0) {
      if (Date.now() - started > 20_000) throw new Error('rsync did not start');
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    while ((await rsyncProcessesFor(targetGuest.rootDir)).length > 0) {
      if (Date.now() - started > 20_000) throw new Error('rsync is still running after the abort');
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(existsSync(inTarget('var/lib/big'))).toBe(false);
  });
});

/** Live rsync processes whose command line names `dir` (zombies have an empty one). */
async function rsyncProcessesFor(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('rsync\0') && cmdline.includes(dir)) pids.push(Number(entry));
  }
  return pids;
}
