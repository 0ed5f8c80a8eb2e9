import { createHash } from 'node:crypto';
import { cp, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { NixInstantiate } from '../../nix';
import type { DemoGuest } from '../DemoGuest';
import { createStateDirectories } from './stateDirectories';
import type { DemoCommand } from './types';

export interface NixosRebuildOptions {
  /** Parse-checks every uploaded .nix file when given (nix-instantiate installed); else skipped. */
  nixInstantiate?: Pick<NixInstantiate, 'parseFiles'>;
  now?: () => Date;
}

const FLAKE_REF = /^(\/[A-Za-z0-9._/-]*)#([A-Za-z0-9_.-]+)$/;

async function listFiles(dir: string, depth = 0): Promise<string[]> {
  if (depth > 6) return [];
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path, depth + 1)));
    else if (entry.isFile()) files.push(path);
  }
  return files.sort();
}

function parseArgs(args: string[]): { action?: string; flake?: string; rollback: boolean; json: boolean; error?: string } {
  const result: { action?: string; flake?: string; rollback: boolean; json: boolean; error?: string } = {
    rollback: false,
    json: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--flake') result.flake = args[++i];
    else if (arg === '--rollback') result.rollback = true;
    else if (arg === '--json') result.json = true;
    else if (!arg.startsWith('-') && result.action === undefined) result.action = arg;
    else result.error = `unsupported argument ${JSON.stringify(arg)}`;
  }
  return result;
}

/**
 * `nixos-rebuild switch|test|build --flake <dir>#<host>`, `switch --rollback` and
 * `list-generations --json`, as a demo: the uploaded configuration is parse-checked with
 * nix-instantiate where installed and recorded as a generation; nothing is built or started,
 * and the output says so.
 */
export function demoNixosRebuildCommand(options: NixosRebuildOptions = {}): DemoCommand {
  const now = options.now ?? (() => new Date());
  return async ({ argv, guest, stdout, stderr }) => {
    const args = parseArgs(argv.slice(1));
    if (args.error) {
      stderr(`nixos-rebuild: ${args.error}\n`);
      return 1;
    }
    if (args.action === 'list-generations') {
      const state = await guest.readState();
      const rows = state.generations.map(g => ({
        generation: g.number,
        date: g.createdAt,
        nixosVersion: '25.05 (demo)',
        configurationRevision: g.configSha256.slice(0, 12),
        current: g.number === state.currentGeneration,
      }));
      stdout(args.json ? `${JSON.stringify(rows)}\n` : rows.map(r => `${r.generation} ${r.date}${r.current ? ' (current)' : ''}\n`).join(''));
      return 0;
    }
    if (!['switch', 'test', 'build', 'boot'].includes(args.action ?? '')) {
      stderr('nixos-rebuild: demo host supports switch, boot, test, build and list-generations\n');
      return 1;
    }
    if (args.rollback) return rollback(guest, stderr);
    const match = FLAKE_REF.exec(args.flake ?? '');
    if (!match) {
      stderr('nixos-rebuild: demo host needs --flake <absolute dir>#<host>\n');
      return 1;
    }
    const flakeDir = await guest.resolvePath(match[1]);
    const flakeFile = join(flakeDir, 'flake.nix');
    if (!(await stat(flakeFile).catch(() => undefined))?.isFile()) {
      stderr(`error: path '${guest.toGuestPath(flakeFile)}' does not exist\n`);
      return 1;
    }
    stderr('building the system configuration...\n');
    const files = await listFiles(flakeDir);
    const nixFiles = files.filter(f => f.endsWith('.nix'));
    if (options.nixInstantiate) {
      try {
        // One nix-instantiate for all files: a process per file made this check take about a second.
        await options.nixInstantiate.parseFiles(nixFiles);
      } catch (err) {
        stderr(`error: ${(err as Error).message.replaceAll(guest.rootDir, '')}\n`);
        return 1;
      }
      stderr(`[demo host] parse-checked ${nixFiles.length} .nix file(s) with nix-instantiate; nothing was built\n`);
    } else {
      stderr('[demo host] nix-instantiate is not installed: configuration not checked; nothing was built\n');
    }
    const hash = createHash('sha256');
    for (const file of files) {
      hash.update(relative(flakeDir, file)).update('\0').update(await readFile(file)).update('\0');
    }
    const configSha256 = hash.digest('hex');
    if (args.action === 'build') return 0;

    stderr('activating the configuration...\nsetting up /etc...\nreloading user units for root...\nsetting up tmpfiles\n');
    if (args.action === 'switch' || args.action === 'test') {
      const created = await createStateDirectories(guest, flakeDir, match[2], now());
      if (created.length) stderr(`[demo host] created the app's state directories with sample demo data: ${created.join(' ')}\n`);
    }
    if (args.action === 'test') return 0;
    const state = await guest.updateState(async current => {
      const number = Math.max(0, ...current.generations.map(g => g.number)) + 1;
      await cp(flakeDir, join(guest.stateDir, 'generations', String(number)), { recursive: true });
      return {
        ...current,
        generations: [
          ...current.generations,
          { number, createdAt: now().toISOString(), flake: args.flake!, configSha256, parseChecked: Boolean(options.nixInstantiate) },
        ],
        currentGeneration: args.action === 'switch' ? number : current.currentGeneration,
      };
    });
    const generation = state.generations[state.generations.length - 1];
    stderr(`[demo host] recorded generation ${generation.number} (configuration ${configSha256.slice(0, 12)})\n`);
    return 0;
  };
}

async function rollback(
  guest: DemoGuest,
  stderr: (data: string) => void,
): Promise<number> {
  let target: number | undefined;
  await guest.updateState(state => {
    const earlier = state.generations.map(g => g.number).filter(n => state.currentGeneration !== null && n < state.currentGeneration);
    target = earlier.length > 0 ? Math.max(...earlier) : undefined;
    return target === undefined ? state : { ...state, currentGeneration: target };
  });
  if (target === undefined) {
    stderr('error: no generation to roll back to\n');
    return 1;
  }
  stderr(`switching to generation ${target}\nactivating the configuration...\n[demo host] rolled back to generation ${target}\n`);
  return 0;
}
