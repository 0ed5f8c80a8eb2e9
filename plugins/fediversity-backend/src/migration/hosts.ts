import { posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { SshConnection } from '@fediversity/plugin-fediversity-node';
import { MigrationHost } from './params';

export type HostRole = 'source' | 'target';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions {
  signal?: AbortSignal;
  /** Throw on a non-zero exit (default true). */
  check?: boolean;
  /**
   * Sent to the command's stdin, then EOF. A promise lets the command start at once and get its input
   * when it resolves (e.g. psql connects, then learns what to run); a rejection sends EOF alone.
   */
  stdin?: string | Promise<string>;
  /** Told the command's stdout as it arrives (it is collected all the same): to act on a line before the command ends. */
  onStdout?: (text: string) => void;
  /** The same for stderr. */
  onStderr?: (text: string) => void;
}

/** One host as the migration sees it: argv commands, never shell strings. */
export interface HostShell {
  readonly role: HostRole;
  run(argv: readonly string[], options?: RunCommandOptions): Promise<CommandResult>;
}

export interface ConnectedHost extends HostShell {
  close(): Promise<void>;
}

/** Opens a session to a host with its pinned key; injected so unit tests run without SSH. */
export type HostConnector = (role: HostRole, host: MigrationHost, signal: AbortSignal) => Promise<ConnectedHost>;

/** Resolves a `{ secretRef }` to its value (e.g. from Backstage config secrets). */
export type SecretResolver = (ref: string) => Promise<string>;

/**
 * Commands run at once on one host's connection: below OpenSSH's MaxSessions (10) with room for a slot
 * sshd has not freed yet. Up to READY_PER_HOST of them wait as commands started before the window
 * (readyCommands.ts); the steps in between run at most two at once on a host besides them.
 */
export const SESSIONS_PER_HOST = 8;
export const READY_PER_HOST = SESSIONS_PER_HOST - 2;

/** The real connector: an SshConnection per host and step, host key pinned. */
export function sshHostConnector(resolveSecret: SecretResolver, registerSecret?: (value: string) => void): HostConnector {
  return async (role, host) => {
    const privateKey = await resolveSecret(host.privateKey.secretRef);
    registerSecret?.(privateKey);
    const connection = await SshConnection.connect({
      host: host.host,
      port: host.port,
      username: host.username,
      hostKey: host.hostKey,
      privateKey,
      keepaliveIntervalMs: 5_000,
      maxConcurrentExecs: SESSIONS_PER_HOST,
    });
    return {
      role,
      async run(argv, options = {}) {
        const result = await connection.run(argv, {
          signal: options.signal,
          check: options.check ?? true,
          stdin: typeof options.stdin === 'object' ? streamWhenResolved(options.stdin) : options.stdin,
          onStdout: decodingObserver(options.onStdout),
          onStderr: decodingObserver(options.onStderr),
        });
        return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
      },
      close: async () => connection.close(),
    };
  };
}

/** `observe` told text: a character cut between chunks is held until its rest comes. */
function decodingObserver(observe?: (text: string) => void): ((chunk: Buffer) => void) | undefined {
  if (!observe) return undefined;
  const decoder = new StringDecoder('utf8');
  return chunk => observe(decoder.write(chunk));
}

function streamWhenResolved(text: Promise<string>): Readable {
  const stream = new PassThrough();
  text.then(
    value => stream.end(value),
    () => stream.end(),
  );
  return stream;
}

/**
 * An `onStdout` observer that hands `onLine` each complete line as it arrives, however the output is cut,
 * until `onLine` returns true (the line it waited for).
 */
export function watchLines(onLine: (line: string) => boolean): (text: string) => void {
  let pending = '';
  let done = false;
  return text => {
    if (done) return;
    pending += text;
    const lastBreak = pending.lastIndexOf('\n');
    if (lastBreak < 0) return;
    const lines = pending.slice(0, lastBreak).split('\n');
    pending = pending.slice(lastBreak + 1);
    done = lines.some(onLine);
  };
}

/** A data path of the app (`/var/lib/forgejo`) on a host, below the host's path prefix. */
export function hostPath(host: MigrationHost, appPath: string): string {
  return posix.join(host.pathPrefix, appPath);
}

/**
 * Runs argv as another OS user when the SSH user differs (root → `runuser -u postgres --`), from `/`: the
 * SSH user's home is the working directory otherwise, which that user may not enter (PostgreSQL's programs
 * then open every error message with "could not change directory to "/root"").
 */
export function asUser(host: MigrationHost, osUser: string, argv: readonly string[]): string[] {
  return host.username === osUser ? [...argv] : ['runuser', '-u', osUser, '--', 'env', '-C', '/', ...argv];
}

/**
 * Keeps each job's host sessions open across its steps (an SSH handshake is a noticeable part of a short
 * downtime window). A session is dropped after any failure of a step that used it, and closed when idle.
 */
export class HostSessionPool {
  private readonly sessions = new Map<string, { host: Promise<ConnectedHost>; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly connect: HostConnector,
    private readonly idleMs = 30_000,
  ) {}

  async acquire(jobId: string, role: HostRole, host: MigrationHost, signal: AbortSignal): Promise<HostShell> {
    const key = `${jobId}/${role}`;
    let entry = this.sessions.get(key);
    if (!entry) {
      entry = { host: this.connect(role, host, signal) };
      this.sessions.set(key, entry);
      entry.host.catch(() => this.sessions.delete(key));
    }
    if (entry.timer) clearTimeout(entry.timer);
    const current = entry;
    current.timer = setTimeout(() => this.close(key, current), this.idleMs);
    current.timer.unref?.();
    return current.host;
  }

  /** Closes a job's sessions (after a failure, or when the job is done). */
  async release(jobId: string): Promise<void> {
    await Promise.all(
      [...this.sessions.entries()].filter(([key]) => key.startsWith(`${jobId}/`)).map(([key, entry]) => this.close(key, entry)),
    );
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.sessions.entries()].map(([key, entry]) => this.close(key, entry)));
  }

  private async close(key: string, entry: { host: Promise<ConnectedHost>; timer?: NodeJS.Timeout }) {
    if (this.sessions.get(key) === entry) this.sessions.delete(key);
    if (entry.timer) clearTimeout(entry.timer);
    await entry.host.then(host => host.close()).catch(() => undefined);
  }
}
