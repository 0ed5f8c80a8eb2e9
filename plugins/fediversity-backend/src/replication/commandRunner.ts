import { spawn } from 'node:child_process';
import { RemoteCommandError, type RunResult } from '@fediversity/plugin-fediversity-node';

/** Options every runner honours; the subset of SshConnection's RunOptions the strategies use. */
export interface CommandRunOptions {
  signal?: AbortSignal;
  /** Throw RemoteCommandError unless the exit code is 0 (default true). */
  check?: boolean;
  stdin?: string;
}

/**
 * Runs an argv array on one host. `SshConnection` is one (the normal case: the portal drives a host over SSH);
 * `localRunner` runs on the portal's own machine. Strategies only see this, so they never build a shell line
 * for their own host; commands that must pipe host to host go through `pipeToPeerArgv`.
 */
export interface CommandRunner {
  run(argv: readonly string[], options?: CommandRunOptions): Promise<RunResult>;
}

/** Runs argv on this machine without a shell; an aborted signal kills the process group. */
export const localRunner: CommandRunner = {
  run(argv, options = {}) {
    return new Promise<RunResult>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(options.signal.reason ?? new Error('aborted'));
        return;
      }
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', chunk => stdout.push(chunk));
      child.stderr.on('data', chunk => stderr.push(chunk));
      const onAbort = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdin.on('error', () => {});
      child.stdin.end(options.stdin ?? '');
      child.once('error', error => {
        options.signal?.removeEventListener('abort', onAbort);
        reject(error);
      });
      child.once('close', (code, signalName) => {
        options.signal?.removeEventListener('abort', onAbort);
        const result: RunResult = {
          exitCode: code,
          exitSignal: signalName,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        };
        if (options.signal?.aborted) {
          reject(options.signal.reason ?? new Error('aborted'));
        } else if ((options.check ?? true) && code !== 0) {
          const tail = result.stderr.slice(-2000).trim();
          const ending = code !== null ? `exit code ${code}` : `signal ${signalName}`;
          reject(
            new RemoteCommandError(
              `Command ${argv[0]} failed with ${ending}${tail ? `: ${tail}` : ''}`,
              code,
              signalName,
              tail,
            ),
          );
        } else {
          resolve(result);
        }
      });
    });
  },
};
