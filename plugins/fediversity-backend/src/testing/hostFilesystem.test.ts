import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { mountOwnFilesystem } from './hostFilesystem';

describe('mountOwnFilesystem', () => {
  it('gives a host a journaled ext4 of its own, and takes it away again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fediversity-hostfs-'));
    const root = join(dir, 'target');
    let unmount = mountOwnFilesystem(join(dir, 'target.ext4'), root, 256 * 1024 * 1024);
    try {
      // Elsewhere the host lives in a plain directory.
      expect(unmount !== undefined).toBe(process.getuid?.() === 0 && existsSync('/dev/loop-control'));
      if (!unmount) return;
      expect(statSync(root).dev).not.toBe(statSync(dir).dev);
      const [device, , type] = readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map(line => line.split(' '))
        .find(fields => fields[1] === root)!;
      expect(type).toBe('ext4');
      // jbd2 lists every journal it runs as <device>-<inodes>: this one has its own.
      expect(readdirSync('/proc/fs/jbd2').some(name => name.startsWith(`${basename(device)}-`))).toBe(true);
      // Its loop device writes to the image directly, not through the image file's page cache.
      expect(readFileSync(`/sys/block/${basename(device)}/loop/dio`, 'utf8').trim()).toBe('1');
      writeFileSync(join(root, 'file'), 'data');
      unmount();
      unmount = undefined;
      expect(existsSync(join(root, 'file'))).toBe(false);
      // The loop device is gone with it.
      expect(existsSync(`/sys/block/${basename(device)}/loop`)).toBe(false);
      expect(existsSync(join(dir, 'target.ext4'))).toBe(false);
    } finally {
      unmount?.();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
