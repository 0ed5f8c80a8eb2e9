/**
 * Runs Debian's `nix-instantiate` (Nix ≥ 2.8) for offline checks of rendered files: syntax
 * (`--parse`) and pure evaluation (`--eval --strict --json`). Always argv arrays, never a shell.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface NixInstantiateOptions {
  /** The binary; `nix-instantiate` from PATH by default. */
  binary?: string;
  /** Kills the process after this many milliseconds. */
  timeoutMs?: number;
}

export interface NixInstantiate {
  /** Resolves when the file parses; rejects with Nix's error message otherwise. */
  parseFile(file: string): Promise<void>;
  /**
   * Parses many files in one nix-instantiate process (a start costs ~40 ms, a parse well under 1 ms); rejects
   * with Nix's error message, which names the first file that does not parse.
   */
  parseFiles(files: string[]): Promise<void>;
  /** Evaluates a file (an expression, not a function) and returns its value as JSON. */
  evalFileToJson(file: string): Promise<unknown>;
  /** Removes the private Nix state directory. */
  close(): Promise<void>;
}

/** Whether `nix-instantiate` can be run; tests skip with a printed reason when it cannot. */
export async function isNixInstantiateAvailable(binary = 'nix-instantiate'): Promise<boolean> {
  return new Promise(resolve => {
    execFile(binary, ['--version'], error => resolve(!error));
  });
}

/**
 * Creates a runner with its own `NIX_STATE_DIR`, so it works for any user and never touches the
 * machine's Nix database (an unprivileged user cannot write /nix/var).
 */
export async function createNixInstantiate(options: NixInstantiateOptions = {}): Promise<NixInstantiate> {
  const binary = options.binary ?? 'nix-instantiate';
  const timeout = options.timeoutMs ?? 60_000;
  const stateDir = await mkdtemp(join(tmpdir(), 'fediversity-nix-state-'));

  const run = (flags: string[], files: string[]) =>
    new Promise<string>((resolve, reject) => {
      const relative = files.find(file => !isAbsolute(file));
      if (relative !== undefined) {
        // A relative name could start with "-" and be read as an option.
        reject(new Error(`nix-instantiate needs an absolute file path, got ${JSON.stringify(relative)}`));
        return;
      }
      execFile(
        binary,
        [...flags, ...files],
        {
          timeout,
          maxBuffer: 64 * 1024 * 1024,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: stateDir,
            NIX_STATE_DIR: join(stateDir, 'state'),
            NIX_LOG_DIR: join(stateDir, 'log'),
            // Keep evaluation pure and offline: no channels, no NIX_PATH lookups.
            NIX_PATH: '',
          },
        },
        (error, stdout, stderr) => {
          if (error) {
            const message = stderr
              .split('\n')
              .filter(line => !line.includes("build-users-group' does not exist"))
              .join('\n')
              .trim();
            reject(new Error(`nix-instantiate ${flags[0]} failed: ${message || error.message}`));
          } else {
            resolve(stdout);
          }
        },
      );
    });

  return {
    async parseFile(file) {
      await run(['--parse'], [file]);
    },
    async parseFiles(files) {
      if (files.length > 0) await run(['--parse'], files);
    },
    async evalFileToJson(file) {
      return JSON.parse(await run(['--eval', '--strict', '--json'], [file]));
    },
    async close() {
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
