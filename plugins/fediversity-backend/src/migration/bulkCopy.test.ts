import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSshKeyPair, rsyncPushArgv, shellQuote, toCommandLine } from '@fediversity/plugin-fediversity-node';
import { bulkCopyArgv, bulkCopyFromSource, extractOnPeerArgv, gnuTarVersion, tarCreateArgv } from './bulkCopy';
import { FilesStrategy } from './filesStrategy';
import { ConnectedHost, HostShell, sshHostConnector } from './hosts';
import { MigrationParams, migrationParamsSchema } from './params';
import { ensurePeerTrust, jobDirectory, PEER_CIPHERS, peerOf } from './rsync';
import { StrategyEnv } from './strategy';
import { MigrationHosts, startMigrationHosts } from '../testing/migrationHosts';
import { migrationParams } from '../testing/migrationFixtures';
import { testStrategyEnv } from '../testing/strategyEnv';

/**
 * The bulk first pass between two real hosts (sshd each, GNU tar, rsync): what it copies, that the rsync
 * catch-up after it finds nothing to copy again, when it falls back to rsync, how it fails, and that the
 * target's tar stays inside the target directory whatever archive it is sent.
 */
jest.setTimeout(60_000);

const JOB = '5b0e3c1a-7f39-4a5e-9d2b-1c4e8f2a6b70';
// Mounting a tmpfs needs root.
const itAsRoot = process.getuid?.() === 0 ? it : it.skip;
let hosts: MigrationHosts;
let params: MigrationParams;
let source: ConnectedHost;
let target: ConnectedHost;

beforeAll(async () => {
  hosts = await startMigrationHosts({ fsync: false });
  params = migrationParamsSchema.parse(migrationParams(hosts));
  const connect = sshHostConnector(async () => hosts.portalPrivateKey);
  const signal = new AbortController().signal;
  [source, target] = await Promise.all([connect('source', params.source, signal), connect('target', params.target, signal)]);
  await ensurePeerTrust(envFor());
});

afterAll(async () => {
  await source?.run(['rm', '-rf', '--', jobDirectory(JOB)]).catch(() => undefined);
  await Promise.all([source?.close(), target?.close()]);
  await hosts?.stop();
});

function envFor(options: { checkpoint?: Record<string, unknown>; preflight?: Record<string, unknown>; params?: MigrationParams; log?: string[] } = {}): StrategyEnv {
  return testStrategyEnv({
    jobId: JOB,
    params: options.params ?? params,
    source,
    target,
    preflight: options.preflight,
    checkpoint: options.checkpoint ?? {},
    saveCheckpoint: async checkpoint => {
      Object.assign(options.checkpoint ?? {}, checkpoint);
    },
    log: async message => {
      options.log?.push(message);
    },
  });
}

const onSource = (path: string) => join(hosts.source.root, path);
const onTarget = (path: string) => join(hosts.target.root, path);

/** A tree with what a copy gets wrong first: odd names, links, modes, an empty directory, nanosecond mtimes. */
function seedTree(path: string) {
  const root = onSource(path);
  mkdirSync(join(root, 'media/2024'), { recursive: true });
  mkdirSync(join(root, 'empty'), { recursive: true });
  mkdirSync(join(root, 'private'), { recursive: true, mode: 0o750 });
  for (let i = 0; i < 30; i++) writeFileSync(join(root, 'media/2024', `f${i}.bin`), randomBytes(40_000 + i));
  for (const name of ['with space', 'new\nline', '-starts-with-dash', 'back\\slash', "quote'd", 'star*', '--to-command=touch pwned']) {
    writeFileSync(join(root, name), name);
  }
  writeFileSync(join(root, 'private/secret'), 'secret', { mode: 0o600 });
  linkSync(join(root, 'media/2024/f0.bin'), join(root, 'hardlink.bin'));
  symlinkSync('media/2024/f1.bin', join(root, 'relative-link'));
  symlinkSync('/etc/hostname', join(root, 'absolute-link'));
  execFileSync('touch', ['-h', '-d', '@1700000000.123456789', join(root, 'media/2024/f2.bin')]);
}

/**
 * The catch-up's comparison (the live pass's options, as rsyncOnce builds them) as a dry run: what it
 * would change. Without a transfer, a file's data are not read again.
 */
async function catchUpWouldChange(path: string): Promise<string[]> {
  const argv = rsyncPushArgv({ sourcePath: `${onSource(path)}/`, targetPath: `${onTarget(path)}/`, peer: peerOf(envFor()), partial: true, numericIds: true });
  argv.splice(1, 0, '--checksum-choice=xxh128', '--modify-window=-1', '--dry-run', '--itemize-changes', '--out-format=%i %n');
  argv[argv.indexOf('-e') + 1] += ` -o Ciphers=${PEER_CIPHERS}`;
  const result = await source.run(argv);
  return result.stdout.split('\n').filter(line => line.trim() !== '');
}

async function prepared(path: string) {
  const strategy = new FilesStrategy('media', [path]);
  await strategy.prepareTarget(envFor());
  return strategy;
}

describe('FilesStrategy first pass', () => {
  it('finds GNU tar on both real hosts, and none on a host that answers "command not found"', async () => {
    const strategy = new FilesStrategy('media', ['/srv']);
    mkdirSync(onSource('/srv'), { recursive: true });
    const facts = await strategy.preflight(envFor());
    expect(facts).toMatchObject({ bulkCopy: true, tar: { source: expect.stringMatching(/^1\.\d+$/), target: expect.stringMatching(/^1\.\d+$/) } });
    const demoLike: HostShell = { role: 'target', run: async () => ({ exitCode: 127, stdout: '', stderr: 'demo host: command not found: tar' }) };
    await expect(gnuTarVersion(demoLike)).resolves.toBeUndefined();
  });

  it('copies into an empty directory with tar, and the rsync catch-up then finds every file equal', async () => {
    seedTree('/srv/bulk');
    const strategy = await prepared('/srv/bulk');
    const checkpoint: Record<string, unknown> = {};
    const result = await strategy.initialSync(envFor({ preflight: { bulkCopy: true }, checkpoint }));
    expect(result.methods).toEqual({ '/srv/bulk': 'tar' });
    expect(checkpoint).toEqual({ bulkCopyStarted: true });
    expect(await catchUpWouldChange('/srv/bulk')).toEqual([]);

    const copied = onTarget('/srv/bulk');
    expect(readdirSync(copied).sort()).toEqual(readdirSync(onSource('/srv/bulk')).sort());
    expect(statSync(join(copied, 'hardlink.bin')).ino).toBe(statSync(join(copied, 'media/2024/f0.bin')).ino);
    expect(statSync(join(copied, 'private/secret')).mode & 0o777).toBe(0o600);
    expect(statSync(join(copied, 'private')).mode & 0o777).toBe(0o750);
    expect(statSync(join(copied, 'media/2024/f2.bin'), { bigint: true }).mtimeNs).toBe(1_700_000_000_123_456_789n);
    expect(execFileSync('readlink', [join(copied, 'absolute-link')]).toString().trim()).toBe('/etc/hostname');
    expect([onSource('/srv/bulk/pwned'), join(copied, 'pwned')].filter(existsSync)).toEqual([]);
  });

  it('uses rsync on a retry after a bulk copy started, and for a target directory that has data', async () => {
    seedTree('/srv/retry');
    const strategy = await prepared('/srv/retry');
    const retried = await strategy.initialSync(envFor({ preflight: { bulkCopy: true }, checkpoint: { bulkCopyStarted: true } }));
    expect(retried.methods).toEqual({ '/srv/retry': 'rsync' });
    expect((await catchUpWouldChange('/srv/retry')).filter(line => /^[<>c]/.test(line))).toEqual([]);

    seedTree('/srv/nonempty');
    const other = await prepared('/srv/nonempty');
    writeFileSync(onTarget('/srv/nonempty/left-over'), 'x');
    const result = await other.initialSync(envFor({ preflight: { bulkCopy: true } }));
    expect(result.methods).toEqual({ '/srv/nonempty': 'rsync' });
    // A job whose preflight predates the bulk copy (no fact) keeps to rsync too.
    rmSync(onTarget('/srv/nonempty'), { recursive: true });
    await other.prepareTarget(envFor());
    expect((await other.initialSync(envFor({ preflight: { rsync: {} } }))).methods).toEqual({ '/srv/nonempty': 'rsync' });
  });
});

describe('bulkCopyFromSource', () => {
  it('builds one pipe with pipefail, the pinned ssh options and every word quoted', () => {
    const peer = peerOf(envFor());
    const copy = { sourcePath: "/srv/it's here", targetPath: '/srv/$(reboot)' };
    const consumer = extractOnPeerArgv(peer, copy.targetPath);
    expect(bulkCopyArgv(peer, copy)).toEqual(['bash', '-o', 'pipefail', '-c', `${toCommandLine(tarCreateArgv(copy))} | ${toCommandLine(consumer)}`]);
    expect(tarCreateArgv(copy)).toEqual(['tar', '-C', "/srv/it's here", '-b', '256', '--format=posix', '--numeric-owner', '--ignore-failed-read', '-cf', '-', '.']);
    const sshOptions = consumer.filter((_word, index) => consumer[index - 1] === '-o');
    expect(sshOptions).toEqual(
      expect.arrayContaining([`Ciphers=${PEER_CIPHERS}`, 'StrictHostKeyChecking=yes', `UserKnownHostsFile=${jobDirectory(JOB)}/known_hosts`]),
    );
    expect(consumer[consumer.indexOf('-i') + 1]).toBe(hosts.peerIdentityFile);
    // The remote argv is quoted for the target's shell (and once more, by toCommandLine, for the source's).
    expect(consumer.slice(-3)).toEqual(['--', hosts.target.address, toCommandLine(['tar', '-C', '/srv/$(reboot)', '-b', '256', '--numeric-owner', '-xpf', '-'])]);
    expect(consumer.join(' ')).not.toMatch(/absolute-names|\s-P\s/);
  });

  it('tolerates files changing under tar (exit 1) and names the pass and the exit code otherwise', async () => {
    const scripted = (exitCode: number, stderr = ''): StrategyEnv => ({
      ...envFor(),
      source: { role: 'source', run: async () => ({ exitCode, stdout: '', stderr }) },
    });
    const copy = { sourcePath: '/srv/a/', targetPath: '/srv/a/' };
    await expect(bulkCopyFromSource(scripted(1, 'tar: f: file changed as we read it'), copy)).resolves.toMatchObject({ filesChanged: true });
    await expect(bulkCopyFromSource(scripted(2, 'tar: x: Cannot open: Permission denied\ntar: Exiting with failure status due to previous errors'), copy)).rejects.toThrow(
      'Bulk copy (tar over ssh) /srv/a/ → target:/srv/a/ exited with 2: tar: x: Cannot open: Permission denied | tar: Exiting with failure status due to previous errors',
    );
  });

  it('fails with ssh’s error when the target’s key is not the pinned one', async () => {
    mkdirSync(onSource('/srv/badkey/d'), { recursive: true });
    writeFileSync(onSource('/srv/badkey/d/f'), 'x');
    mkdirSync(onTarget('/srv/badkey'), { recursive: true });
    const wrongKey = { ...params, target: { ...params.target, hostPublicKey: generateSshKeyPair('impostor').publicKey } };
    const env = envFor({ params: wrongKey });
    await ensurePeerTrust(env);
    try {
      await expect(bulkCopyFromSource(env, { sourcePath: onSource('/srv/badkey'), targetPath: onTarget('/srv/badkey') })).rejects.toThrow(
        /^Bulk copy \(tar over ssh\) .* exited with 255: .*Host key verification failed\.$/,
      );
    } finally {
      await ensurePeerTrust(envFor());
    }
  });

  itAsRoot('reports a full target disk as such', async () => {
    mkdirSync(onSource('/srv/full/d'), { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(onSource(`/srv/full/d/f${i}`), randomBytes(500_000));
    const full = onTarget('/srv/full');
    mkdirSync(full, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
    try {
      await expect(bulkCopyFromSource(envFor(), { sourcePath: onSource('/srv/full'), targetPath: full })).rejects.toThrow(
        /^Target disk full: Bulk copy \(tar over ssh\) .*No space left on device/,
      );
    } finally {
      execFileSync('umount', ['-l', full]);
    }
  });

  it('never writes outside the target directory, whatever the archive says', async () => {
    // A source host that is not what it seems sends: a leading `/`, `..` inside a name, and a symlink to
    // a directory outside followed by a file "inside" it.
    const stage = join(hosts.dir, 'crafted');
    const outside = onTarget('/srv/outside');
    const into = onTarget('/srv/crafted/dst');
    mkdirSync(join(stage, 'a'), { recursive: true });
    mkdirSync(join(stage, 'b/link'), { recursive: true });
    mkdirSync(outside, { recursive: true });
    mkdirSync(into, { recursive: true });
    writeFileSync(join(stage, 'absolute.txt'), 'absolute');
    writeFileSync(join(stage, 'dotdot.txt'), 'dotdot');
    symlinkSync(outside, join(stage, 'a/link'));
    writeFileSync(join(stage, 'b/link/through.txt'), 'through the link');
    const archive = join(stage, 'crafted.tar');
    const tar = (...args: string[]) => execFileSync('tar', ['--format=posix', ...args]);
    tar('-cPf', archive, '--transform', `s,^.*absolute,${outside}/absolute,`, join(stage, 'absolute.txt'));
    tar('-rPf', archive, '-C', stage, '--transform', 's,^dotdot,sub/../../../outside/dotdot,', 'dotdot.txt');
    tar('-rf', archive, '-C', join(stage, 'a'), 'link');
    tar('-rf', archive, '-C', join(stage, 'b'), 'link/through.txt');
    expect(execFileSync('tar', ['-tPf', archive]).toString().split('\n').filter(Boolean)).toEqual([
      `${outside}/absolute.txt`,
      'sub/../../../outside/dotdot.txt',
      'link',
      'link/through.txt',
    ]);

    const extracted = await source.run(['bash', '-c', `${toCommandLine(extractOnPeerArgv(peerOf(envFor()), into))} < ${shellQuote(archive)}`], {
      check: false,
    });
    expect(extracted.stderr).toContain("Member name contains '..'");
    expect(extracted.exitCode).toBe(2);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(onTarget('/srv/crafted')).sort()).toEqual(['dst']);
  });
});
