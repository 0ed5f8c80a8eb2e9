import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InputError } from '@backstage/errors';
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { toCommandLine } from './commandLine';
import { HostKeyMismatchError, RemoteCommandAbortedError, RemoteCommandError } from './errors';
import {
  describeHostKey,
  hostKeyMatchesPin,
  pinFingerprint,
  sha256Fingerprint,
  type HostKeyPin,
  type HostPublicKey,
} from './hostKeys';
import { assertHostname, assertPort, assertRemotePath, assertUsername } from './identifiers';
import { ChannelLimiter } from './channelLimiter';
import { sftpReadFile, sftpWriteFileAtomic } from './sftpFiles';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** Required: the connection is refused unless the server's key matches. */
  hostKey: HostKeyPin;
}

export interface SshConnectOptions extends SshTarget {
  /** OpenSSH or PEM private key. */
  privateKey: string | Buffer;
  passphrase?: string;
  readyTimeoutMs?: number;
  /** Keepalive so that a dead peer fails a long job instead of hanging it. */
  keepaliveIntervalMs?: number;
  /**
   * Concurrent exec channels; more wait their turn. Default 6: below OpenSSH's MaxSessions (10)
   * with room for the SFTP session and for slots sshd has not freed yet.
   */
  maxConcurrentExecs?: number;
}

/**
 * How an aborted command is stopped.
 * - `pid` (default): the command runs under `sh -c 'echo $$; exec "$@"'`; on abort a second exec
 *   sends `kill -KILL` to that process group (sshd makes every session a group leader), so the
 *   command's children die too. Works for every login, root included.
 * - `signal`: an SSH `signal` channel request. OpenSSH (≥ 7.9) answers it with killpg() only for
 *   non-root logins; for root ("requires privilege separation") and forced commands it refuses
 *   (verified with OpenSSH 9.2). Servers that ignore it (ssh2-based ones such as the demo hosts)
 *   still end the command when the channel is closed after `killGraceMs`.
 */
export type KillMode = 'signal' | 'pid';

export interface ExecOptions {
  signal?: AbortSignal;
  /**
   * Environment for the command, passed as `env NAME=value argv…` (sshd drops most `env`
   * requests). Visible in the remote process list: never put secrets here.
   */
  env?: Record<string, string>;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Sent to the command's stdin, then EOF. Without it stdin is closed at once. */
  stdin?: Buffer | string | Readable;
  killMode?: KillMode;
  /**
   * After asking the remote to die, wait this long for the channel to close before closing it
   * ourselves, and as long again before giving up on the server's confirmation.
   */
  killGraceMs?: number;
}

export interface ExecResult {
  /** null when the process died by a signal or the server sent no exit status. */
  exitCode: number | null;
  exitSignal: string | null;
}

export interface RunOptions extends Omit<ExecOptions, 'onStdout' | 'onStderr'> {
  /** Throw RemoteCommandError unless the exit code is 0 (default true). */
  check?: boolean;
  /** Stop collecting output beyond this many bytes per stream (default 16 MiB). */
  maxOutputBytes?: number;
  /** Told each chunk of stdout as it arrives (it is collected all the same), e.g. to act on a line before the command ends. */
  onStdout?: (chunk: Buffer) => void;
  /** The same for stderr. */
  onStderr?: (chunk: Buffer) => void;
}

export interface RunResult extends ExecResult {
  stdout: string;
  stderr: string;
}

export interface UploadOptions {
  /** Default 0644. Secrets: 0600/0400. */
  mode?: number;
  mkdirs?: boolean;
}

function describeTarget(options: SshTarget): string {
  return `${options.username}@${options.host}:${options.port}`;
}

/**
 * One authenticated SSH connection with a pinned host key, reused for every step of a job:
 * many execs (argv arrays, quoted per argument) and one lazily opened SFTP session.
 */
export class SshConnection {
  private sftpSession?: Promise<SFTPWrapper>;
  private closed = false;

  private constructor(
    private readonly client: Client,
    private readonly limiter: ChannelLimiter,
    readonly target: SshTarget,
    /** The key the server proved it holds (matches the pin). */
    readonly hostKey: HostPublicKey,
  ) {
    client.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(options: SshConnectOptions): Promise<SshConnection> {
    assertHostname(options.host, 'SSH host');
    assertPort(options.port, 'SSH port');
    assertUsername(options.username, 'SSH username');
    const expected = pinFingerprint(options.hostKey);
    const client = new Client();
    let presented: Buffer | undefined;

    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        client.end();
        if (presented && !hostKeyMatchesPin(presented, options.hostKey)) {
          reject(
            new HostKeyMismatchError(
              `Host key verification failed for ${describeTarget(options)}: pinned ${expected}, ` +
                `server presented ${sha256Fingerprint(presented)}. Refusing to connect; if the host ` +
                `was legitimately re-created, enrol its new key explicitly.`,
            ),
          );
        } else {
          reject(new Error(`SSH connection to ${describeTarget(options)} failed: ${err.message}`));
        }
      };
      client.once('ready', () => {
        client.off('error', onError);
        // Later transport errors surface through the channel or SFTP callbacks; this keeps them from
        // becoming an unhandled 'error' event.
        client.on('error', () => undefined);
        resolve();
      });
      client.once('error', onError);
      client.connect({
        host: options.host,
        port: options.port,
        username: options.username,
        privateKey: options.privateKey,
        passphrase: options.passphrase,
        readyTimeout: options.readyTimeoutMs ?? 20_000,
        keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 4,
        agent: undefined,
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          presented = key;
          return hostKeyMatchesPin(key, options.hostKey);
        },
      });
      // An exec is a handful of small packets each way; with Nagle's algorithm most of them wait for the
      // server's delayed ACK (~40 ms per command, measured: p50 41 ms vs 10 ms for `true`).
      client.setNoDelay(true);
    });
    const { host, port, username, hostKey } = options;
    return new SshConnection(
      client,
      new ChannelLimiter(options.maxConcurrentExecs ?? 6),
      { host, port, username, hostKey },
      describeHostKey(presented!),
    );
  }

  /**
   * Runs argv on the remote host. Every argument is quoted, so `$(…)`, `;`, quotes and newlines
   * arrive as literal bytes. Resolves when the remote process has exited; rejects with
   * RemoteCommandAbortedError if `signal` fired (after the remote process was told to die).
   */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (!Array.isArray(argv) || argv.length === 0) {
      throw new InputError('Command argv must be a non-empty array');
    }
    const killMode = options.killMode ?? 'pid';
    const what = argv[0];
    const fullArgv = [...envPrefix(options.env), ...argv];
    const command =
      killMode === 'pid'
        ? toCommandLine(['sh', '-c', 'echo $$; exec "$@"', 'sh', ...fullArgv])
        : toCommandLine(fullArgv);
    if (options.signal?.aborted) {
      throw new RemoteCommandAbortedError(`Remote command ${what} aborted before it started`);
    }
    const release = await this.limiter.acquire();
    try {
      this.assertOpen();
      if (options.signal?.aborted) {
        throw new RemoteCommandAbortedError(`Remote command ${what} aborted before it started`);
      }
      return await this.openAndRun(command, what, killMode, options);
    } finally {
      release();
    }
  }

  /**
   * sshd frees a session slot a moment after it confirms the close, so a channel opened right
   * then can be refused ("open failed") near MaxSessions. Nothing ran yet, so retrying is safe.
   */
  private async openAndRun(
    command: string,
    what: string,
    killMode: KillMode,
    options: ExecOptions,
  ): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      let opened = false;
      try {
        return await new Promise<ExecResult>((resolve, reject) =>
          this.client.exec(command, (err, channel) => {
            if (err) {
              reject(err);
              return;
            }
            opened = true;
            // Listeners must be attached in this callback: a fast command's exit-status can be
            // parsed from the same packet batch, before any awaited continuation would run.
            this.runOnChannel(channel, what, killMode, options).then(resolve, reject);
          }),
        );
      } catch (err) {
        if (opened) throw err;
        if (attempt >= 4 || !/open failed/i.test((err as Error).message) || this.closed) {
          throw new Error(`Could not run ${what} on ${describeTarget(this.target)}: ${(err as Error).message}`);
        }
        await new Promise(r => setTimeout(r, 50 * attempt));
      }
    }
  }

  private runOnChannel(
    channel: ClientChannel,
    what: string,
    killMode: KillMode,
    options: ExecOptions,
  ): Promise<ExecResult> {
    const where = describeTarget(this.target);
    return new Promise<ExecResult>((resolve, reject) => {
      const result: ExecResult = { exitCode: null, exitSignal: null };
      let aborted = false;
      let remotePid: number | undefined;
      let pidLine: Buffer | undefined = killMode === 'pid' ? Buffer.alloc(0) : undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      let settled = false;

      const onStdout = (chunk: Buffer) => {
        if (pidLine) {
          // The wrapper's first stdout line is its pid; the command's output follows.
          pidLine = Buffer.concat([pidLine, chunk]);
          const newline = pidLine.indexOf(10);
          if (newline < 0) return;
          const pid = Number(pidLine.subarray(0, newline).toString('latin1'));
          remotePid = Number.isInteger(pid) && pid > 1 ? pid : undefined;
          const rest = pidLine.subarray(newline + 1);
          pidLine = undefined;
          if (aborted) void this.killRemotePid(remotePid);
          if (rest.length > 0) options.onStdout?.(rest);
          return;
        }
        options.onStdout?.(chunk);
      };
      const onAbort = () => {
        if (aborted) return;
        aborted = true;
        if (killMode === 'signal') {
          sendKillSignal(channel);
        } else if (remotePid !== undefined) {
          void this.killRemotePid(remotePid);
        }
        // Kill requests can be refused or lost; never let an aborted job hang on them. (sshd only
        // confirms a close once the session's process has exited.)
        const graceMs = options.killGraceMs ?? 5_000;
        graceTimer = setTimeout(() => {
          channel.close();
          graceTimer = setTimeout(settle, graceMs);
        }, graceMs);
      };
      function settle() {
        if (settled) return;
        settled = true;
        clearTimeout(graceTimer);
        options.signal?.removeEventListener('abort', onAbort);
        if (aborted) {
          reject(
            new RemoteCommandAbortedError(
              `Remote command ${what} on ${where} aborted ` +
                `(exit ${result.exitCode ?? result.exitSignal ?? 'unknown'})`,
            ),
          );
        } else {
          resolve(result);
        }
      }

      channel.on('data', onStdout);
      channel.stderr.on('data', (chunk: Buffer) => options.onStderr?.(chunk));
      channel.on('exit', (code: number | null, signalName?: string) => {
        result.exitCode = typeof code === 'number' ? code : null;
        result.exitSignal = signalName ?? null;
      });
      channel.on('close', settle);
      options.signal?.addEventListener('abort', onAbort, { once: true });

      const stdin = options.stdin;
      if (stdin === undefined) {
        channel.end();
      } else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
        channel.end(stdin);
      } else {
        stdin.on('error', () => channel.close());
        stdin.pipe(channel);
      }
    });
  }

  /** exec + collected output; throws RemoteCommandError on failure unless `check: false`. */
  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const limit = options.maxOutputBytes ?? 16 * 1024 * 1024;
    const collect = () => {
      const chunks: Buffer[] = [];
      let size = 0;
      return {
        push: (chunk: Buffer) => {
          if (size >= limit) return;
          chunks.push(chunk.subarray(0, limit - size));
          size += chunk.length;
        },
        text: () => Buffer.concat(chunks).toString('utf8'),
      };
    };
    const stdout = collect();
    const stderr = collect();
    const observed = (collected: ReturnType<typeof collect>, observe?: (chunk: Buffer) => void) =>
      observe
        ? (chunk: Buffer) => {
            collected.push(chunk);
            observe(chunk);
          }
        : collected.push;
    const result = await this.exec(argv, { ...options, onStdout: observed(stdout, options.onStdout), onStderr: observed(stderr, options.onStderr) });
    const out: RunResult = { ...result, stdout: stdout.text(), stderr: stderr.text() };
    if ((options.check ?? true) && out.exitCode !== 0) {
      const tail = out.stderr.slice(-2000);
      const ending = out.exitCode !== null ? `exit code ${out.exitCode}` : `signal ${out.exitSignal ?? 'unknown'}`;
      const detail = tail ? `: ${tail.trim()}` : '';
      throw new RemoteCommandError(
        `Remote command ${argv[0]} on ${describeTarget(this.target)} failed with ${ending}${detail}`,
        out.exitCode,
        out.exitSignal,
        tail,
      );
    }
    return out;
  }

  /** Writes a file via SFTP to a temporary name, sets its mode, then renames it into place. */
  async uploadFile(
    remotePath: string,
    content: Buffer | string,
    options: UploadOptions = {},
  ): Promise<void> {
    assertRemotePath(remotePath, 'upload path');
    const mode = options.mode ?? 0o644;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new InputError(`Invalid file mode ${mode}`);
    }
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    await sftpWriteFileAtomic(await this.sftp(), remotePath, data, { mode, mkdirs: options.mkdirs });
  }

  async uploadLocalFile(localPath: string, remotePath: string, options: UploadOptions = {}) {
    await this.uploadFile(remotePath, await readFile(localPath), options);
  }

  async readFile(remotePath: string): Promise<Buffer> {
    assertRemotePath(remotePath, 'download path');
    return sftpReadFile(await this.sftp(), remotePath);
  }

  /** The shared SFTP session, for callers that need more than upload/read. */
  sftp(): Promise<SFTPWrapper> {
    this.assertOpen();
    if (!this.sftpSession) {
      this.sftpSession = new Promise((resolve, reject) =>
        this.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))),
      );
      this.sftpSession.catch(() => {
        this.sftpSession = undefined;
      });
    }
    return this.sftpSession;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    this.closed = true;
    this.client.end();
  }

  private assertOpen() {
    if (this.closed) throw new Error(`SSH connection to ${describeTarget(this.target)} is closed`);
  }

  private async killRemotePid(pid: number | undefined): Promise<void> {
    if (pid === undefined || this.closed) return;
    // sshd makes each session a process group leader, so -pid reaches the command's children too;
    // fall back to the pid alone where the wrapper is not a group leader.
    const group = await this.exec(['kill', '-KILL', '--', `-${pid}`]).catch(() => undefined);
    if (group?.exitCode !== 0) {
      await this.exec(['kill', '-KILL', '--', String(pid)]).catch(() => undefined);
    }
  }
}

function envPrefix(env: Record<string, string> | undefined): string[] {
  if (!env || Object.keys(env).length === 0) return [];
  return [
    'env',
    ...Object.entries(env).map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new InputError(`Invalid environment variable name ${JSON.stringify(name)}`);
      }
      return `${name}=${value}`;
    }),
  ];
}

/**
 * ssh2's `channel.signal()` silently does nothing once our side of the channel has sent EOF, which
 * is the normal state here (stdin is closed right after the exec). The protocol layer has no such
 * condition, so call it directly while the channel is still open.
 */
function sendKillSignal(channel: ClientChannel): void {
  const internal = channel as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  const outgoing = internal.outgoing;
  const protocol = internal._client?._protocol;
  if (outgoing && (outgoing.state === 'open' || outgoing.state === 'eof') && protocol) {
    protocol.signal(outgoing.id, 'KILL');
  } else {
    channel.signal('KILL');
  }
}
