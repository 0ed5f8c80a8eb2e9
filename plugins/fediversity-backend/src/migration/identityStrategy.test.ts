import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentJobError } from '../jobs/errors';
import { HostRole, HostShell } from './hosts';
import { IdentityStrategy } from './identityStrategy';
import { MigrationHost, MigrationParams } from './params';
import { GATE_LINE, ReadyCommands } from './readyCommands';
import { StrategyEnv } from './strategy';
import { localHost } from '../testing/localHost';
import { testStrategyEnv } from '../testing/strategyEnv';

/** This machine as a host: the real sh, find and sha256sum. */
const run = localHost().run;
// Changing a file's owner needs root.
const itAsRoot = process.getuid?.() === 0 ? it : it.skip;

/**
 * A local host that records every argv. rsync (run on the source, pushing to `user@host:path` over ssh) runs
 * locally instead: the remote shell option dropped and the target spec made a local path.
 */
function recordingHost(role: HostRole, options: { noShell?: boolean } = {}): HostShell & { argvs: string[][] } {
  const argvs: string[][] = [];
  return {
    role,
    argvs,
    run: async (argv, runOptions = {}) => {
      argvs.push([...argv]);
      if (options.noShell && argv[0] === 'sh') return { exitCode: 127, stdout: '', stderr: 'sh: demo host: no shell' };
      if (argv[0] !== 'rsync') return run(argv, runOptions);
      const local = [...argv];
      local.splice(local.indexOf('-e'), 2);
      local[local.length - 1] = local[local.length - 1].replace(/^[^:]*:/, '');
      return run(local, runOptions);
    },
  };
}

const IDENTITY_PATHS = ['/etc/app/secrets', '/srv/app/signing.key'];

let base: string;
let sourceRoot: string;
let targetRoot: string;

function migrationHost(pathPrefix: string): MigrationHost {
  return {
    host: 'localhost',
    port: 22,
    username: 'root',
    hostKey: 'SHA256:unused-in-this-test',
    hostPublicKey: 'ssh-ed25519 AAAAunused',
    privateKey: { secretRef: 'unused' },
    pathPrefix,
  };
}

function envFor(source: HostShell, target: HostShell, logs: unknown[] = []): StrategyEnv {
  const params = {
    app: { name: 'app', dataClasses: [], identityPaths: IDENTITY_PATHS },
    source: migrationHost(`${sourceRoot}/`),
    target: migrationHost(targetRoot),
    peer: { identityFile: '/nonexistent/peer-key' },
  } as unknown as MigrationParams;
  return testStrategyEnv({
    jobId: 'identity-test',
    params,
    source,
    target,
    log: async (message, fields) => {
      logs.push(message, fields);
    },
  });
}

function writeIdentity(root: string) {
  mkdirSync(join(root, 'etc/app/secrets/sub'), { recursive: true });
  mkdirSync(join(root, 'srv/app'), { recursive: true });
  writeFileSync(join(root, 'etc/app/secrets/.env'), 'SECRET=1\n');
  writeFileSync(join(root, 'etc/app/secrets/sub/name with\nnewline and  spaces'), 'x');
  writeFileSync(join(root, 'srv/app/signing.key'), 'a private key\n', { mode: 0o600 });
  chmodSync(join(root, 'srv/app/signing.key'), 0o600);
}

const strategy = new IdentityStrategy(IDENTITY_PATHS);

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'identity-strategy-'));
  sourceRoot = join(base, 'source');
  targetRoot = join(base, 'target');
  for (const root of [sourceRoot, targetRoot]) writeIdentity(root);
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('IdentityStrategy.verify', () => {
  it('finds equal trees equal with one exec per host, and logs and returns no digest', async () => {
    const source = recordingHost('source');
    const target = recordingHost('target');
    const logs: unknown[] = [];
    await expect(strategy.verify(envFor(source, target, logs))).resolves.toEqual({ identityEqual: true, startedAhead: 0 });
    for (const host of [source, target]) {
      expect(host.argvs).toHaveLength(1);
      expect(host.argvs[0].slice(0, 2)).toEqual(['sh', '-c']);
      // The paths are positional arguments, never part of the script.
      expect(host.argvs[0][2]).not.toContain('/etc/app');
    }
    expect(source.argvs[0].slice(3)).toEqual(['sh', join(sourceRoot, 'etc/app/secrets'), join(sourceRoot, 'srv/app/signing.key')]);
    expect(logs).toEqual([]);
  });

  it('fails on different content', async () => {
    writeFileSync(join(targetRoot, 'etc/app/secrets/.env'), 'SECRET=2\n');
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      new PermanentJobError('Verification failed: the identity files differ'),
    );
  });

  it('fails on a different mode: a 0600 key copied as 0644', async () => {
    chmodSync(join(targetRoot, 'srv/app/signing.key'), 0o644);
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
  });

  itAsRoot('fails on a different owner or group (as root)', async () => {
    chownSync(join(targetRoot, 'srv/app/signing.key'), 1, 0);
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
    chownSync(join(targetRoot, 'srv/app/signing.key'), 0, 1);
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
    chownSync(join(targetRoot, 'srv/app/signing.key'), 0, 0);
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).resolves.toEqual({ identityEqual: true, startedAhead: 0 });
  });

  it('fails on an extra file below an identity directory', async () => {
    writeFileSync(join(targetRoot, 'etc/app/secrets/stale'), '');
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
  });

  it('fails when a path is missing on either host', async () => {
    rmSync(join(targetRoot, 'srv/app/signing.key'));
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
    writeIdentity(targetRoot);
    rmSync(join(sourceRoot, 'etc/app/secrets'), { recursive: true });
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
    // An empty directory in its place is not the same as no directory.
    mkdirSync(join(sourceRoot, 'etc/app/secrets'));
    rmSync(join(targetRoot, 'etc/app/secrets'), { recursive: true });
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
  });

  it('fails when a file cannot be read (the digest is equal to nothing)', async () => {
    // Both hosts fail the same way: still not equal.
    const failing = (role: HostRole): HostShell => ({ role, run: async () => ({ exitCode: 1, stdout: '', stderr: 'Permission denied' }) });
    await expect(strategy.verify(envFor(failing('source'), failing('target')))).rejects.toThrow(
      'Verification failed: the identity files differ',
    );
  });

  it('compares contents with one find per path on hosts without a shell (demo hosts)', async () => {
    const source = recordingHost('source', { noShell: true });
    const target = recordingHost('target', { noShell: true });
    await expect(strategy.verify(envFor(source, target))).resolves.toEqual({ identityEqual: true, startedAhead: 0 });
    expect(target.argvs.map(argv => argv[0])).toEqual(['sh', 'find', 'find']);
    writeFileSync(join(targetRoot, 'etc/app/secrets/.env'), 'SECRET=2\n');
    await expect(strategy.verify(envFor(source, target))).rejects.toThrow('Verification failed: the identity files differ');
  });
});

describe('IdentityStrategy before and in the window', () => {
  it('copies a differing identity right before the window, and then the final sync runs nothing', async () => {
    writeFileSync(join(sourceRoot, 'etc/app/secrets/.env'), 'SECRET=rotated\n');
    const source = recordingHost('source');
    const target = recordingHost('target');
    const prepared = await strategy.prepareWindow(envFor(source, target));
    expect(prepared).toEqual({ copiedBeforeWindow: true });
    expect(source.argvs.map(argv => argv[0])).toContain('rsync');
    await expect(strategy.prepareWindow(envFor(recordingHost('source'), recordingHost('target')))).resolves.toEqual({ copiedBeforeWindow: false });
    const [inWindowSource, inWindowTarget] = [recordingHost('source'), recordingHost('target')];
    const env = { ...envFor(inWindowSource, inWindowTarget), window: prepared };
    await expect(strategy.finalSync(env)).resolves.toEqual({ copied: false });
    expect([...inWindowSource.argvs, ...inWindowTarget.argvs]).toEqual([]);
    await expect(strategy.verify(env)).resolves.toEqual({ identityEqual: true, startedAhead: 0 });
  });

  it("starts the verify's digests in the preparation; they read the files only when the verify fires them", async () => {
    const commands = new ReadyCommands(6);
    const ready = commands.forStrategy('identity-test', 'identity');
    const [source, target] = [recordingHost('source'), recordingHost('target')];
    const prepared = await strategy.prepareWindow({ ...envFor(source, target), ready });
    const gatedDigests = (host: typeof source) => host.argvs.filter(argv => argv[0] === 'sh' && argv[2].startsWith(GATE_LINE));
    expect(gatedDigests(source)).toHaveLength(1);
    expect(gatedDigests(target)).toHaveLength(1);
    writeFileSync(join(targetRoot, 'srv/app/signing.key'), 'a key written after the digests started\n');
    const env = { ...envFor(source, target), window: prepared, ready };
    const callsBefore = source.argvs.length + target.argvs.length;
    await expect(strategy.verify(env)).rejects.toThrow(/identity files differ/);
    expect(source.argvs.length + target.argvs.length).toBe(callsBefore);

    writeIdentity(targetRoot);
    await strategy.prepareWindow({ ...envFor(source, target), ready });
    await expect(strategy.verify({ ...env, ready })).resolves.toEqual({ identityEqual: true, startedAhead: 2 });
  });

  it('fails the verify when the identity changes after the preparation (the migration rolls back)', async () => {
    const prepared = await strategy.prepareWindow(envFor(recordingHost('source'), recordingHost('target')));
    writeFileSync(join(sourceRoot, 'srv/app/signing.key'), 'a new key\n');
    const env = { ...envFor(recordingHost('source'), recordingHost('target')), window: prepared };
    await expect(strategy.finalSync(env)).resolves.toEqual({ copied: false });
    await expect(strategy.verify(env)).rejects.toThrow(/identity files differ/);
  });
});

describe('IdentityStrategy.finalSync of a job prepared without it', () => {
  it('copies nothing when both hosts hold the same identity: one digest exec per host, no rsync', async () => {
    const source = recordingHost('source');
    const target = recordingHost('target');
    await expect(strategy.finalSync(envFor(source, target))).resolves.toEqual({ copied: false });
    expect(source.argvs.map(argv => argv[0])).toEqual(['sh']);
    expect(target.argvs.map(argv => argv[0])).toEqual(['sh']);
  });

  it('copies when they differ (content or mode), and then they verify equal', async () => {
    writeFileSync(join(sourceRoot, 'etc/app/secrets/.env'), 'SECRET=rotated\n');
    chmodSync(join(targetRoot, 'srv/app/signing.key'), 0o644);
    const source = recordingHost('source');
    const target = recordingHost('target');
    await expect(strategy.finalSync(envFor(source, target))).resolves.toEqual({ copied: true });
    expect(source.argvs.map(argv => argv[0])).toEqual(['sh', 'rsync', 'rsync']);
    // The copy is flushed to the target's disk: each target directory's filesystem.
    expect(target.argvs).toEqual([
      expect.arrayContaining(['sh']),
      ['sync', '-f', '--', join(targetRoot, 'etc/app')],
      ['sync', '-f', '--', join(targetRoot, 'srv/app')],
    ]);
    await expect(strategy.verify(envFor(source, target))).resolves.toEqual({ identityEqual: true, startedAhead: 0 });
  });

  it('copies when a path is missing on the target', async () => {
    rmSync(join(targetRoot, 'srv/app/signing.key'));
    const source = recordingHost('source');
    await expect(strategy.finalSync(envFor(source, recordingHost('target')))).resolves.toEqual({ copied: true });
    expect(source.argvs.map(argv => argv[0])).toContain('rsync');
    await expect(strategy.verify(envFor(recordingHost('source'), recordingHost('target')))).resolves.toEqual({ identityEqual: true, startedAhead: 0 });
  });

  it('runs the copy (and fails like it) when a path is missing on the source, even if also missing on the target', async () => {
    for (const root of [sourceRoot, targetRoot]) rmSync(join(root, 'srv/app/signing.key'));
    const source = recordingHost('source');
    await expect(strategy.finalSync(envFor(source, recordingHost('target')))).rejects.toThrow(/rsync final pass/);
    expect(source.argvs.map(argv => argv[0])).toContain('rsync');
  });
});
