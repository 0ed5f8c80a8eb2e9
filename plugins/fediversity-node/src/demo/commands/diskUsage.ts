import { statfs } from 'node:fs/promises';
import type { DemoCommand } from './types';
import { fileErrorText, operandsAfter, unsupportedForm } from './usage';
import { walk } from './walk';

const DF_FORM = ['-B1', '--output=avail,target', '--'];
const DU_FORM = ['-s', '-B1', '--'];

/**
 * `df -B1 --output=avail,target -- <path>…`: the real free bytes of the file system that holds the
 * demo guest's directory. A guest is one file system to itself, so the mount target is always `/`.
 */
export const dfCommand: DemoCommand = async ({ argv, guest, stdout, stderr }) => {
  const paths = operandsAfter(argv.slice(1), DF_FORM);
  if (!paths) return unsupportedForm(stderr, 'df', [`df ${DF_FORM.join(' ')} <path>…`]);
  const rows: string[][] = [['Avail', 'Mounted on']];
  let status = 0;
  for (const path of paths) {
    try {
      const info = await statfs(await guest.resolvePath(path));
      rows.push([String(info.bavail * info.bsize), '/']);
    } catch (error) {
      stderr(`df: ${path}: ${fileErrorText(error)}\n`);
      status = 1;
    }
  }
  if (rows.length > 1) {
    const width = Math.max(...rows.map(([avail]) => avail.length));
    stdout(rows.map(([avail, target]) => `${avail.padStart(width)} ${target}\n`).join(''));
  }
  return status;
};

/**
 * `du -s -B1 -- <path>…`: allocated bytes below each path, symlinks not followed and hard-linked
 * files counted once, like GNU du.
 */
export const duCommand: DemoCommand = async ({ argv, guest, stdout, stderr, signal }) => {
  const paths = operandsAfter(argv.slice(1), DU_FORM);
  if (!paths) return unsupportedForm(stderr, 'du', [`du ${DU_FORM.join(' ')} <path>…`]);
  const seen = new Set<string>();
  let status = 0;
  for (const path of paths) {
    try {
      let bytes = 0;
      for await (const { stats } of walk(await guest.resolvePath(path))) {
        if (signal.aborted) return 130;
        if (stats.nlink > 1 && !stats.isDirectory()) {
          const inode = `${stats.dev}:${stats.ino}`;
          if (seen.has(inode)) continue;
          seen.add(inode);
        }
        bytes += stats.blocks * 512;
      }
      stdout(`${bytes}\t${path}\n`);
    } catch (error) {
      stderr(`du: cannot access '${path}': ${fileErrorText(error)}\n`);
      status = 1;
    }
  }
  return status;
};
