import { mkdir, readFile, realpath, rename, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { dirname, join, posix, sep } from 'node:path';
import { InputError, NotAllowedError } from '@backstage/errors';

export interface DemoGeneration {
  number: number;
  createdAt: string;
  /** The flake reference the switch was run with, e.g. `/etc/nixos#social`. */
  flake: string;
  /** sha256 over the flake directory's files: which configuration this generation is. */
  configSha256: string;
  /** Whether nix-instantiate parse-checked the .nix files of this generation. */
  parseChecked: boolean;
}

export interface DemoGuestState {
  hostname: string;
  /** `10.0.0.5/24`; shown by `ip -j addr`. */
  ipv4?: string;
  generations: DemoGeneration[];
  currentGeneration: number | null;
  /** Units explicitly started/stopped; others follow "active once a generation is switched to". */
  units: Record<string, 'active' | 'inactive'>;
}

export interface DemoGuestInit {
  hostname?: string;
  ipv4?: string;
}

const GUEST_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export function assertDemoGuestName(name: unknown): string {
  if (typeof name === 'string' && GUEST_NAME.test(name)) return name;
  throw new InputError(`Invalid demo guest name ${JSON.stringify(name)}: expected ${GUEST_NAME}`);
}

function osRelease(): string {
  return [
    'NAME=NixOS',
    'ID=nixos',
    'VERSION="25.05 (Fediversity demo host)"',
    'VERSION_ID="25.05"',
    'PRETTY_NAME="NixOS 25.05 (Fediversity demo host, not a real machine)"',
    'VARIANT="Fediversity demo host"',
    'VARIANT_ID=fediversity-demo',
    'HOME_URL="https://nixos.org/"',
    '',
  ].join('\n');
}

/**
 * One demo guest: a directory standing in for the machine's filesystem (`root/`) and a small
 * state file (generations, unit states). Every path a client names is confined to `root/`.
 */
export class DemoGuest {
  readonly rootDir: string;
  readonly stateDir: string;
  private stateChain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly dir: string,
  ) {
    this.rootDir = join(dir, 'root');
    this.stateDir = join(dir, 'state');
  }

  /** Creates the directory skeleton on first use; keeps existing state. */
  async initialise(init: DemoGuestInit): Promise<void> {
    if (init.ipv4 !== undefined) {
      const [address, prefix] = init.ipv4.split('/');
      if (!isIPv4(address) || (prefix !== undefined && !/^([0-9]|[12][0-9]|3[0-2])$/.test(prefix))) {
        throw new InputError(`Invalid demo guest address ${JSON.stringify(init.ipv4)}`);
      }
    }
    const hostname = init.hostname ?? this.name;
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(hostname)) {
      throw new InputError(`Invalid demo guest hostname ${JSON.stringify(hostname)}`);
    }
    for (const sub of ['etc/nixos', 'var/lib', 'root', 'tmp']) {
      await mkdir(join(this.rootDir, sub), { recursive: true });
    }
    await mkdir(join(this.stateDir, 'generations'), { recursive: true });
    await writeFile(join(this.rootDir, 'etc/os-release'), osRelease());
    await writeFile(join(this.rootDir, 'etc/hostname'), `${hostname}\n`);
    await this.updateState(state => ({ ...state, hostname, ipv4: init.ipv4 ?? state.ipv4 }));
  }

  /**
   * Maps a client path to a local one inside `root/`. `..` is resolved lexically (it stops at
   * the guest's `/`), and the real path of the deepest existing ancestor must stay inside root,
   * so a symlink cannot lead out either.
   */
  async resolvePath(clientPath: string): Promise<string> {
    if (typeof clientPath !== 'string' || clientPath.includes('\0')) {
      throw new InputError('Invalid path');
    }
    const virtual = posix.resolve('/', clientPath);
    const local = join(this.rootDir, ...virtual.split('/').filter(Boolean));
    const realRoot = await realpath(this.rootDir);
    let probe = local;
    for (;;) {
      try {
        const real = await realpath(probe);
        if (real !== realRoot && !real.startsWith(realRoot + sep)) {
          throw new NotAllowedError(`Path ${virtual} leaves the demo guest`);
        }
        return local;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        probe = dirname(probe);
      }
    }
  }

  /**
   * Like resolvePath, but the last component is not followed: for operations on a directory entry
   * itself (removing a symlink removes the link, wherever it points).
   */
  async resolveEntryPath(clientPath: string): Promise<string> {
    if (typeof clientPath !== 'string' || clientPath.includes('\0')) {
      throw new InputError('Invalid path');
    }
    const virtual = posix.resolve('/', clientPath);
    if (virtual === '/') return this.resolvePath('/');
    return join(await this.resolvePath(posix.dirname(virtual)), posix.basename(virtual));
  }

  /** The guest-side path of a local path inside root. */
  toGuestPath(local: string): string {
    const relative = local.slice(this.rootDir.length).split(sep).filter(Boolean).join('/');
    return `/${relative}`;
  }

  async readState(): Promise<DemoGuestState> {
    try {
      return JSON.parse(await readFile(join(this.stateDir, 'state.json'), 'utf8')) as DemoGuestState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return { hostname: this.name, generations: [], currentGeneration: null, units: {} };
    }
  }

  /** Serialised read-modify-write, written atomically. */
  updateState(change: (state: DemoGuestState) => DemoGuestState | Promise<DemoGuestState>): Promise<DemoGuestState> {
    const next = this.stateChain.then(async () => {
      const updated = await change(await this.readState());
      await mkdir(this.stateDir, { recursive: true });
      const file = join(this.stateDir, 'state.json');
      await writeFile(`${file}.tmp`, JSON.stringify(updated, null, 2));
      await rename(`${file}.tmp`, file);
      return updated;
    });
    this.stateChain = next.catch(() => undefined);
    return next;
  }
}
