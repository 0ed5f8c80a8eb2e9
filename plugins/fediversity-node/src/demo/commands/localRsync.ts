import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';

export interface LocalRsyncRun {
  args: string[];
  /** Sent to rsync's stdin (a `--files-from=-` list); stdin is closed otherwise. */
  input?: Buffer;
  stdout(data: string | Buffer): void;
  stderr(data: string | Buffer): void;
  /** Guests' root dirs: shown as `/` in rsync's messages, which name local paths. */
  hidePaths: string[];
  signal: AbortSignal;
}

/** How long rsync gets to remove its temporary files after SIGTERM before SIGKILL. */
const TERMINATE_GRACE_MS = 2_000;

/**
 * Runs the real rsync binary (argv, no shell, a minimal environment) and resolves with its exit
 * code. Output is passed on as it arrives, a line at a time so local paths can be rewritten. On
 * abort its whole process group (rsync forks a receiver) is terminated.
 */
export function runLocalRsync(run: LocalRsyncRun): Promise<number> {
  if (run.signal.aborted) return Promise.resolve(130);
  return new Promise(resolve => {
    const child = spawn('rsync', run.args, {
      stdio: [run.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      // Its own process group, so an abort reaches the receiver process rsync forks too.
      detached: true,
    });
    const stdout = lineRewriter(run.stdout, run.hidePaths);
    const stderr = lineRewriter(run.stderr, run.hidePaths);
    child.stdout!.on('data', stdout.write);
    child.stderr!.on('data', stderr.write);
    if (run.input) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(run.input);
    }
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), TERMINATE_GRACE_MS);
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    let failedToStart = false;
    child.once('error', error => {
      failedToStart = true;
      run.stderr(`rsync: cannot run rsync on the demo host: ${error.message}\n`);
    });
    child.once('close', (code, signal) => {
      run.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      stdout.flush();
      stderr.flush();
      if (failedToStart) resolve(127);
      else if (code !== null) resolve(code);
      else if (signal) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(127);
    });
  });
}

/** Passes output on up to each line end (`\n` or `\r`), with the hidden paths removed. */
function lineRewriter(write: (data: string) => void, hidePaths: string[]) {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const rewrite = (text: string) =>
    hidePaths.reduce((result, path) => result.replaceAll(`${path}/`, '/').replaceAll(path, '/'), text);
  return {
    write: (chunk: Buffer) => {
      pending += decoder.write(chunk);
      const end = Math.max(pending.lastIndexOf('\n'), pending.lastIndexOf('\r'));
      if (end < 0) return;
      write(rewrite(pending.slice(0, end + 1)));
      pending = pending.slice(end + 1);
    },
    flush: () => {
      pending += decoder.end();
      if (pending) write(rewrite(pending));
      pending = '';
    },
  };
}
