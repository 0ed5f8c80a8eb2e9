import { PassThrough } from 'node:stream';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HOSTILE_ARGS } from './hostileArgs';
import { SshConnection } from './SshConnection';
import { enrollHostKey } from './enrollHostKey';
import { generateSshKeyPair } from './keys';
import { pinFingerprint } from './hostKeys';
import { startTestSshd, type TestSshd } from './testing/testSshd';

// Real servers on a shared 2-core machine: allow for load, not for hangs.
jest.setTimeout(30_000);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise(r => setTimeout(r, 25));
  }
  return condition();
}

describe('SshConnection against a real OpenSSH server on loopback', () => {
  let sshd: TestSshd | undefined;
  let skipReason: string | undefined;
  let connection: SshConnection;

  beforeAll(async () => {
    const started = await startTestSshd();
    if (typeof started === 'string') {
      skipReason = started;
      // eslint-disable-next-line no-console
      console.warn(`Skipping OpenSSH tests: ${started}`);
      return;
    }
    sshd = started;
    connection = await SshConnection.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      hostKey: sshd.hostPublicKey,
      privateKey: sshd.clientPrivateKey,
    });
  }, 30_000);

  afterAll(async () => {
    connection?.close();
    await sshd?.stop();
  });

  const live = () => {
    if (skipReason) return false;
    return true;
  };

  it('passes hostile arguments through the remote shell byte for byte', async () => {
    if (!live()) return;
    const result = await connection.run(['printf', '%s\\0', ...HOSTILE_ARGS]);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE_ARGS);
    expect(existsSync('/tmp/fediversity-pwned')).toBe(false);
  });

  it('handles hostile file names in SFTP and exec paths literally', async () => {
    if (!live()) return;
    // No `/` (a file name), so the injected command would run in the login's home directory.
    const name = `$(touch fediversity-pwned); \`id\` 'q' "d" ;|&<>*? -x ü`;
    const path = join(sshd!.dir, name);
    await connection.uploadFile(path, 'literal');
    expect(await readFile(path, 'utf8')).toBe('literal');
    expect((await connection.run(['cat', '--', path])).stdout).toBe('literal');
    expect(existsSync(join(homedir(), 'fediversity-pwned'))).toBe(false);
    await expect(connection.uploadFile(`${path}\nsecond line`, 'x')).rejects.toThrow(/line break/);
  });

  it('reuses one connection for many execs and reports exit codes', async () => {
    if (!live()) return;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => connection.run(['sh', '-c', `exit ${i}`], { check: false })),
    );
    expect(results.map(r => r.exitCode)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    await expect(connection.run(['false'])).rejects.toThrow(/Remote command false on .* failed with exit code 1/);
  });

  it('passes environment variables through env, quoted like any argument', async () => {
    if (!live()) return;
    const result = await connection.run(['sh', '-c', 'printf %s "$NIX_CONFIG"'], {
      env: { NIX_CONFIG: 'experimental-features = nix-command flakes; $(id)' },
    });
    expect(result.stdout).toBe('experimental-features = nix-command flakes; $(id)');
    await expect(connection.run(['true'], { env: { 'A;B': 'x' } })).rejects.toThrow(/Invalid environment/);
  });

  it('streams stdin to the remote command', async () => {
    if (!live()) return;
    const result = await connection.run(['wc', '-c'], { stdin: Buffer.alloc(100_000, 'x') });
    expect(result.stdout.trim()).toBe('100000');
  });

  it('tells run’s observers each chunk of stdout and stderr as it comes, before the command ends, and still collects them', async () => {
    if (!live()) return;
    const stdin = new PassThrough();
    let [seen, seenOnStderr] = ['', ''];
    const result = connection.run(['bash', '-c', 'echo first; echo waiting >&2; read -r _; echo second; echo done >&2'], {
      stdin,
      onStdout: chunk => {
        seen += chunk.toString();
      },
      onStderr: chunk => {
        seenOnStderr += chunk.toString();
      },
    });
    // The command holds its second lines until it gets input, which it gets only once its first were seen.
    expect(await waitUntil(() => seen === 'first\n' && seenOnStderr === 'waiting\n', 5_000)).toBe(true);
    stdin.end('go\n');
    const { stdout, stderr } = await result;
    expect([stdout, stderr]).toEqual(['first\nsecond\n', 'waiting\ndone\n']);
    expect([seen, seenOnStderr]).toEqual(['first\nsecond\n', 'waiting\ndone\n']);
  });

  it('pins the host key: a wrong key is refused, naming the host and both fingerprints', async () => {
    if (!live()) return;
    const wrong = generateSshKeyPair('impostor');
    const attempt = SshConnection.connect({
      host: sshd!.host,
      port: sshd!.port,
      username: sshd!.username,
      hostKey: pinFingerprint(wrong.publicKey),
      privateKey: sshd!.clientPrivateKey,
    });
    await expect(attempt).rejects.toMatchObject({ name: 'HostKeyMismatchError' });
    await expect(attempt).rejects.toThrow(
      `Host key verification failed for ${sshd!.username}@127.0.0.1:${sshd!.port}: pinned ${pinFingerprint(
        wrong.publicKey,
      )}, server presented ${sshd!.hostKeyFingerprint}`,
    );
  });

  it('accepts a fingerprint pin and refuses to connect without a pin', async () => {
    if (!live()) return;
    const byFingerprint = await SshConnection.connect({
      host: sshd!.host,
      port: sshd!.port,
      username: sshd!.username,
      hostKey: sshd!.hostKeyFingerprint,
      privateKey: sshd!.clientPrivateKey,
    });
    byFingerprint.close();
    await expect(
      SshConnection.connect({
        host: sshd!.host,
        port: sshd!.port,
        username: sshd!.username,
        hostKey: '',
        privateKey: sshd!.clientPrivateKey,
      }),
    ).rejects.toThrow(/pinned host key is required/);
  });

  it('enrols a host key without authenticating, for an operator to confirm', async () => {
    if (!live()) return;
    const key = await enrollHostKey({ host: sshd!.host, port: sshd!.port });
    expect(key.fingerprint).toBe(sshd!.hostKeyFingerprint);
    expect(key.publicKey).toBe(sshd!.hostPublicKey.split(' ').slice(0, 2).join(' '));
  });

  /** Starts `sh` with a background `sleep` remotely; resolves with both pids once they run. */
  function startSleeper(options: { signal: AbortSignal; killMode?: 'pid' | 'signal'; killGraceMs?: number }) {
    let output = '';
    let resolvePids!: (pids: number[]) => void;
    const pids = new Promise<number[]>(resolve => {
      resolvePids = resolve;
    });
    const running = connection.exec(['sh', '-c', 'sleep 300 & echo $$ $!; wait'], {
      ...options,
      onStdout: chunk => {
        output += chunk.toString();
        if (output.includes('\n')) resolvePids(output.trim().split(' ').map(Number));
      },
    });
    running.catch(() => undefined);
    return { running, pids };
  }

  it('kills the remote process group on abort', async () => {
    if (!live()) return;
    const controller = new AbortController();
    const { running, pids } = startSleeper({ signal: controller.signal });
    const [shellPid, sleepPid] = await pids;
    expect(isAlive(shellPid)).toBe(true);
    expect(isAlive(sleepPid)).toBe(true);
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(await waitUntil(() => !isAlive(shellPid) && !isAlive(sleepPid), 5_000)).toBe(true);
    // The connection survives an aborted command.
    expect((await connection.run(['true'])).exitCode).toBe(0);
  }, 20_000);

  it('does not hang when sshd refuses a signal request (root logins)', async () => {
    if (!live()) return;
    const controller = new AbortController();
    const { running, pids } = startSleeper({ signal: controller.signal, killMode: 'signal', killGraceMs: 200 });
    const started = await pids;
    const abortedAt = Date.now();
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - abortedAt).toBeLessThan(2_000);
    // As root sshd refuses the signal, so the processes outlive the abort (and are killed below).
    const asRoot = process.getuid?.() === 0;
    expect(asRoot || (await waitUntil(() => started.every(pid => !isAlive(pid)), 5_000))).toBe(true);
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }, 20_000);

  it('uploads atomically with the requested mode and reads back', async () => {
    if (!live()) return;
    const target = join(sshd!.dir, 'upload', 'nested', 'configuration.nix');
    await connection.uploadFile(target, '{ }\n', { mode: 0o600, mkdirs: true });
    expect(await readFile(target, 'utf8')).toBe('{ }\n');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    // Patterned and larger than the in-flight window, so reordered pipelined writes would show.
    const big = Buffer.alloc(3_000_001);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    await connection.uploadFile(target, big, { mode: 0o644 });
    expect((await readFile(target)).equals(big)).toBe(true);
    expect((await stat(target)).mode & 0o777).toBe(0o644);
    expect((await connection.readFile(target)).equals(big)).toBe(true);
    await expect(connection.uploadFile('relative/path', 'x')).rejects.toThrow(/absolute/);
  });
});
