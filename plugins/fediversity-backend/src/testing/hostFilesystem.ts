import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, ftruncateSync, rmSync } from 'node:fs';

/**
 * A test host's own filesystem: a sparse ext4 image, made with mkfs's defaults (a journal), loop-mounted at
 * the host's root, as Proxmox mounts a container's raw image on directory storage. Two hosts then share no
 * filesystem, and what one run deletes cannot slow the next. That matters on machines whose root
 * filesystem is ext4 without a journal (this VM's): there the kernel skips inode numbers freed in the last
 * minute or more when it allocates new ones (ext4 find_inode_bit → recently_deleted), and a tar of 2,000
 * files ran 3–4× slower right after a run had deleted a few thousand.
 *
 * The loop device does direct I/O where the image's filesystem allows it: the host's writes then reach the
 * disk once, as a container's do on block storage (LVM-thin, ZFS, Ceph), instead of going through a second
 * page cache, the image file's, whose write-back each flush of the host's filesystem (every fsync that
 * commits its journal) waits for. The database's fsyncs are on the migration's critical path.
 *
 * Returns how to unmount it, or undefined where it cannot be made (not root, no loop device, no mkfs.ext4):
 * the host then lives in a plain directory.
 */
export function mountOwnFilesystem(image: string, mountPoint: string, sizeBytes: number): (() => void) | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const fd = openSync(image, 'w');
  try {
    ftruncateSync(fd, sizeBytes);
  } finally {
    closeSync(fd);
  }
  // Inode tables and journal written now, not by a background thread during the measurement; no discard
  // pass over the image.
  const mkfs = spawnSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0,nodiscard', image], { stdio: 'ignore' });
  mkdirSync(mountPoint, { recursive: true });
  const loop = mkfs.status === 0 ? spawnSync('losetup', ['--find', '--show', '--direct-io=on', '--', image], { encoding: 'utf8' }) : undefined;
  const device = loop?.status === 0 ? loop.stdout.trim() : undefined;
  if (!device || spawnSync('mount', ['--', device, mountPoint], { stdio: 'ignore' }).status !== 0) {
    if (device) spawnSync('losetup', ['--detach', device], { stdio: 'ignore' });
    rmSync(image, { force: true });
    return undefined;
  }
  return () => {
    // Lazily if something still holds a file there; the loop device, detached while in use, goes once it is let go.
    if (spawnSync('umount', ['--', mountPoint], { stdio: 'ignore' }).status !== 0) execFileSync('umount', ['-l', '--', mountPoint]);
    spawnSync('losetup', ['--detach', device], { stdio: 'ignore' });
    rmSync(image, { force: true });
  };
}
