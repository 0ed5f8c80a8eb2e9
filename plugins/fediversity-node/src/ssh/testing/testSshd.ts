import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { generateSshKeyPair } from '../keys';
import { sha256Fingerprint, parsePublicKeyLine } from '../hostKeys';
import { freeLoopbackPort, waitForTcpPort } from './freePort';
import { testSshdConfig } from './testSshdConfig';

/** A real OpenSSH server on 127.0.0.1 for tests, accepting one fresh key for the current user. */
export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  username: string;
  hostPublicKey: string;
  hostKeyFingerprint: string;
  clientPrivateKey: string;
  clientPublicKey: string;
  /** The client private key also as a file (0600), for the ssh/rsync CLI. */
  clientPrivateKeyPath: string;
  dir: string;
  stop(): Promise<void>;
}

export const SSHD_PATH = '/usr/sbin/sshd';

/**
 * Starts `sshd -D` with a throwaway config, host key and authorized_keys. Returns a reason string
 * instead when this machine cannot run one (no sshd, or sshd refuses to start as a non-root user).
 * As root nothing excuses a missing server: it throws, so the tests fail rather than skip.
 */
export interface TestSshdOptions {
  /** sshd's LogLevel (default ERROR); DEBUG2 shows why a request was refused. */
  logLevel?: string;
  onLog?: (text: string) => void;
}

export async function startTestSshd(options: TestSshdOptions = {}): Promise<TestSshd | string> {
  const unavailable = (reason: string): string => {
    if (process.getuid?.() === 0) throw new Error(reason);
    return reason;
  };
  if (!existsSync(SSHD_PATH)) return unavailable(`${SSHD_PATH} is not installed (Debian: openssh-server)`);
  const shell = userInfo().shell ?? '';
  if (/nologin|\/false$/.test(shell)) {
    return unavailable(`user ${userInfo().username} has no login shell (${shell}); sshd could not run commands`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'fediversity-sshd-'));
  const hostKey = generateSshKeyPair('test-host');
  const client = generateSshKeyPair('test-client');
  const username = userInfo().username;
  const port = await freeLoopbackPort();
  await writeFile(join(dir, 'host_ed25519'), hostKey.privateKey, { mode: 0o600 });
  await writeFile(join(dir, 'authorized_keys'), `${client.publicKey}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'client_ed25519'), client.privateKey, { mode: 0o600 });
  const config = testSshdConfig({
    port,
    listenAddress: '127.0.0.1',
    dir,
    username,
    environment: { HOME: dir },
    logLevel: options.logLevel,
    extra: ['Subsystem sftp internal-sftp', 'PrintMotd no'],
  });
  await writeFile(join(dir, 'sshd_config'), config);
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) {
    // sshd's privilege-separation directory, normally created by the service unit.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  }

  const stderr: Buffer[] = [];
  const child: ChildProcess = spawn(SSHD_PATH, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', chunk => {
    stderr.push(chunk);
    options.onLog?.(chunk.toString());
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise(resolve => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForTcpPort(port, 10_000, () => !exited);
  } catch (err) {
    await stop();
    return unavailable(`sshd could not start as ${username}: ${(err as Error).message}: ${Buffer.concat(stderr).toString().trim()}`);
  }
  return {
    host: '127.0.0.1',
    port,
    username,
    hostPublicKey: hostKey.publicKey,
    hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(hostKey.publicKey).blob),
    clientPrivateKey: client.privateKey,
    clientPublicKey: client.publicKey,
    clientPrivateKeyPath: join(dir, 'client_ed25519'),
    dir,
    stop,
  };
}
