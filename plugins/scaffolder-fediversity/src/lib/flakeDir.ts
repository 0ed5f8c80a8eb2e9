import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Config } from '@backstage/config';
import { readFlakeFiles, RenderedFile } from '@fediversity/plugin-fediversity-node';

/**
 * The flake the guests build from: `fediversity.nix.flakeDir`, else the repository's nix/ found above the
 * working directory (the backend runs from packages/backend).
 */
export function findFlakeDir(config: Config, from = process.cwd()): string {
  const configured = config.getOptionalString('fediversity.nix.flakeDir');
  if (configured) return resolve(configured);
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nix', 'flake.nix'))) return join(dir, 'nix');
    if (dirname(dir) === dir) break;
  }
  throw new Error('Could not find nix/flake.nix above the working directory; set fediversity.nix.flakeDir');
}

/** Reads the flake's files once, on first use. */
export function flakeFilesLoader(flakeDir: () => string): () => Promise<RenderedFile[]> {
  let files: Promise<RenderedFile[]> | undefined;
  return () => {
    files ??= readFlakeFiles(flakeDir());
    files.catch(() => {
      files = undefined;
    });
    return files;
  };
}
