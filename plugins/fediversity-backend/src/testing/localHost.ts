import { execFile } from 'node:child_process';
import { CommandResult, HostRole, HostShell } from '../migration/hosts';

/** This machine as a migration host: argv run without a shell, as a host's SSH exec would run it. */
export function localHost(role: HostRole = 'source'): HostShell {
  return {
    role,
    run: async (argv, options = {}) =>
      new Promise<CommandResult>((resolve, reject) => {
        const child = execFile(argv[0], argv.slice(1), { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
          const exitCode = error ? ((error as { code?: unknown }).code as number) : 0;
          if (error && typeof exitCode !== 'number') return reject(error);
          if (exitCode !== 0 && options.check !== false) return reject(new Error(`${argv[0]} exited with ${exitCode}: ${stderr}`));
          return resolve({ exitCode, stdout, stderr });
        });
        if (options.onStdout) child.stdout!.on('data', (text: string) => options.onStdout!(text));
        if (options.onStderr) child.stderr!.on('data', (text: string) => options.onStderr!(text));
        child.stdin!.on('error', () => undefined);
        // Started at once; a promised input arrives when it resolves (EOF alone if it rejects), as over SSH.
        Promise.resolve(options.stdin).then(
          text => child.stdin!.end(text ?? ''),
          () => child.stdin!.end(),
        );
      }),
  };
}
