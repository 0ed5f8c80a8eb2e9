/**
 * The flake's own files, to upload next to the host description: the guest builds from a copy of
 * the repository's nix/ directory, so the modules it runs are exactly the ones the portal ships.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { RenderedFile } from './hostFiles';

/** Only these go to the guest; hosts/ is written per host by renderHostFiles. */
const SHIPPED = /^(?:flake\.nix|flake\.lock|lib\/[A-Za-z0-9_-]+\.nix|modules\/(?:apps\/)?[A-Za-z0-9_-]+\.nix)$/;

/** Reads the flake directory (the repository's nix/) into files relative to the guest's flake dir. */
export async function readFlakeFiles(nixDir: string): Promise<RenderedFile[]> {
  const entries = await readdir(nixDir, { recursive: true, withFileTypes: true });
  const paths = entries
    .filter(entry => entry.isFile())
    .map(entry => relative(nixDir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .filter(path => SHIPPED.test(path))
    .sort();
  return Promise.all(
    paths.map(async path => ({ path, content: await readFile(join(nixDir, path), 'utf8'), mode: 0o644 })),
  );
}
