import { InputError } from '@backstage/errors';
import { CommandRunner } from '../replication/commandRunner';

/*
 * A file manifest: sha256 of every regular file under the backed-up directories, keyed by its path relative to
 * the guest's root. Recorded when a backup is taken (while the data classes are quiesced) and recomputed on the
 * restored guest, so a restore is checked file by file, not only by "the service came up".
 */

/** `var/lib/mastodon/system/a.png` → sha256 hex. */
export type FileManifest = Record<string, string>;

export interface ManifestComparison {
  ok: boolean;
  files: number;
  matched: number;
  /** In the backup, absent after the restore. */
  missing: string[];
  /** Present after the restore, not in the backup. */
  extra: string[];
  /** Present on both sides with a different sha256. */
  differing: string[];
}

const PLAIN_ABSOLUTE = /^\/[A-Za-z0-9._@+/-]*$/;

export function assertManifestDirectory(directory: string): void {
  if (!PLAIN_ABSOLUTE.test(directory) || directory.split('/').some(part => part === '..' || part === '.')) {
    throw new InputError(`Invalid backed-up directory ${JSON.stringify(directory)}: an absolute plain path`);
  }
}

/*
 * Fixed script, inputs only as positional arguments: $1 is the root, the rest are directories relative to it.
 * NUL-separated all the way (find -print0, sort -z, sha256sum -z), so no file name can forge a line.
 * A missing directory fails the pipeline (pipefail) instead of yielding an empty manifest.
 */
const MANIFEST_SCRIPT = 'cd -- "$1" && shift && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum -z --';

/** Computes the manifest of `directories` (absolute paths inside the guest) below `root` on the runner's host. */
export async function computeManifest(
  runner: CommandRunner,
  root: string,
  directories: readonly string[],
  signal?: AbortSignal,
): Promise<FileManifest> {
  if (!PLAIN_ABSOLUTE.test(root)) throw new InputError(`Invalid guest root ${JSON.stringify(root)}`);
  if (directories.length === 0) throw new InputError('A manifest needs at least one directory');
  directories.forEach(assertManifestDirectory);
  // `./var/lib/x`, so a directory never reads as an option of find.
  const relative = directories.map(d => `./${d.replace(/^\/+/, '').replace(/\/+$/, '')}`);
  const result = await runner.run(['bash', '-o', 'pipefail', '-c', MANIFEST_SCRIPT, 'manifest', root, ...relative], {
    signal,
  });
  const manifest: FileManifest = {};
  for (const record of result.stdout.split('\0')) {
    if (!record) continue;
    // `<64 hex>  ./path` (two spaces: text mode; ` *` in binary mode).
    const match = /^([0-9a-f]{64}) [ *]\.\/(.*)$/s.exec(record);
    if (!match) throw new Error(`Unexpected sha256sum output: ${JSON.stringify(record.slice(0, 200))}`);
    manifest[match[2]] = match[1];
  }
  return manifest;
}

export function compareManifests(expected: FileManifest, actual: FileManifest): ManifestComparison {
  const missing: string[] = [];
  const differing: string[] = [];
  let matched = 0;
  for (const [path, sha256] of Object.entries(expected)) {
    if (!(path in actual)) missing.push(path);
    else if (actual[path] !== sha256) differing.push(path);
    else matched++;
  }
  const extra = Object.keys(actual).filter(path => !(path in expected));
  return {
    ok: missing.length === 0 && differing.length === 0 && extra.length === 0,
    files: Object.keys(expected).length,
    matched,
    missing: missing.sort(),
    extra: extra.sort(),
    differing: differing.sort(),
  };
}

/** A short, loggable account of a comparison (at most a few paths per list). */
export function describeComparison(comparison: ManifestComparison): string {
  if (comparison.ok) return `${comparison.matched} of ${comparison.files} files match their backup checksums`;
  const some = (paths: string[]) => paths.slice(0, 5).join(', ') + (paths.length > 5 ? `, … (${paths.length})` : '');
  return [
    comparison.differing.length ? `differ: ${some(comparison.differing)}` : '',
    comparison.missing.length ? `missing: ${some(comparison.missing)}` : '',
    comparison.extra.length ? `not in the backup: ${some(comparison.extra)}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}
