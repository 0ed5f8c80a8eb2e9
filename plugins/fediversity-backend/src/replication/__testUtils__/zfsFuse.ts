import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { localRunner } from '../commandRunner';

/** Throwaway ZFS pools on file vdevs, served by zfs-fuse (Debian) where kernel ZFS is absent. */
export interface TestZfs {
  dir: string;
  /** Creates a pool `<prefix><random>` on a sparse file; returns its name. */
  createPool(prefix: string, sizeMb?: number): Promise<string>;
  stop(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function zfsWorks(): Promise<boolean> {
  const result = await localRunner.run(['zpool', 'list', '-H'], { check: false }).catch(() => undefined);
  return result?.exitCode === 0;
}

/**
 * Uses the running zfs-fuse (or kernel ZFS) daemon, or starts zfs-fuse. Returns a reason string when this machine
 * cannot (no zfs tools, no /dev/fuse, not root); as root with the tools installed it throws instead of skipping.
 */
export async function startTestZfs(): Promise<TestZfs | string> {
  const isRoot = process.getuid?.() === 0;
  const unavailable = (reason: string) => {
    if (isRoot && existsSync('/usr/sbin/zfs-fuse')) throw new Error(reason);
    return reason;
  };
  if (!existsSync('/usr/sbin/zfs') && !existsSync('/sbin/zfs')) return unavailable('zfs tools not installed (Debian: zfs-fuse)');
  if (!isRoot) return 'ZFS tests need root';
  const dir = await mkdtemp(join(tmpdir(), 'fediversity-zfs-'));
  let startedDaemon = false;
  if (!(await zfsWorks())) {
    if (!existsSync('/dev/fuse')) return unavailable('/dev/fuse is missing');
    await localRunner.run(['zfs-fuse', '--pidfile', join(dir, 'zfs-fuse.pid')]);
    startedDaemon = true;
    const deadline = Date.now() + 10_000;
    while (!(await zfsWorks())) {
      if (Date.now() > deadline) return unavailable('zfs-fuse did not start');
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }
  const pools: string[] = [];
  return {
    dir,
    async createPool(prefix, sizeMb = 256) {
      const name = `${prefix}${randomBytes(3).toString('hex')}`;
      const file = join(dir, `${name}.img`);
      await localRunner.run(['truncate', '-s', `${sizeMb}M`, file]);
      await localRunner.run(['zpool', 'create', '-m', 'none', name, file]);
      pools.push(name);
      return name;
    },
    async stop() {
      for (const pool of pools) {
        // A just-used FUSE mount can be busy for a moment: retry before giving up on the pool.
        for (let attempt = 0; attempt < 20; attempt++) {
          const result = await localRunner.run(['zpool', 'destroy', '-f', pool], { check: false });
          if (result.exitCode === 0 || /no such pool/.test(result.stderr)) break;
          await new Promise(resolve => setTimeout(resolve, 250));
        }
      }
      if (startedDaemon) {
        const remaining = await localRunner.run(['zpool', 'list', '-H'], { check: false });
        // Another test may have pools on the daemon we started; leave it to them then.
        if (!remaining.stdout.trim()) {
          const pid = Number((await localRunner.run(['cat', join(dir, 'zfs-fuse.pid')], { check: false })).stdout);
          if (pid > 0) {
            process.kill(pid, 'SIGTERM');
            // Wait for it to exit, so a later test does not meet a daemon that is half shut down.
            for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise(resolve => setTimeout(resolve, 100));
          }
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
