import { posix } from 'node:path';
import { InputError } from '@backstage/errors';
import { assertRemotePath, PeerEndpoint, PUBLISH_GENERATION_SCRIPT, rsyncPushArgv } from '@fediversity/plugin-fediversity-node';
import { CommandRunner } from './commandRunner';

/*
 * Files without ZFS: quiesce the app, rsync from the source host straight to the target host, unquiesce.
 * The target keeps generations: each run writes a new directory (unchanged files hard-linked from the current
 * one with --link-dest) and only a finished, verified run moves the `current` symlink to it (rename is atomic),
 * so a failed or interrupted run never touches the last good copy.
 */

export interface FilesReplicationOptions {
  source: CommandRunner;
  /** Directory on the source host whose contents are replicated. */
  sourcePath: string;
  target: CommandRunner;
  /** Root on the target host: holds `gen-<time>/` directories and the `current` symlink. */
  targetRoot: string;
  peer: PeerEndpoint;
  /** argv commands (from the app definition) that make the data consistent on disk, run on the source. */
  quiesce?: string[][];
  unquiesce?: string[][];
  /** A pass while the app runs, so the quiesced pass only moves the last changes (shorter downtime). */
  livePass?: boolean;
  /** Compare checksums in the quiesced pass (catches same-size, same-mtime rewrites). */
  checksum?: boolean;
  /** Generations kept on the target, current included (at least 1). */
  keepGenerations: number;
  now: () => number;
  signal?: AbortSignal;
  log?(message: string, fields?: Record<string, unknown>, level?: 'info' | 'warn'): Promise<void> | void;
}

export interface FilesReplicationResult {
  generation: string;
  /** When the consistent pass started (the app was quiesced from here): the recovery point. */
  consistentAt: number;
  quiescedMs: number;
  transferredBytes: number;
  transferredFiles: number;
  removedGenerations: string[];
}

/** rsync's "some files vanished before they could be transferred": normal while the app runs. */
export const RSYNC_VANISHED = 24;

export function generationName(at: number): string {
  return `gen-${new Date(at).toISOString().replace(/[-:.]/g, '')}`;
}

function parseStats(stdout: string) {
  const number = (label: string) => {
    const match = new RegExp(`${label}: ([\\d,.]+)`).exec(stdout);
    return match ? Number(match[1].replace(/[,.]/g, '')) : 0;
  };
  return {
    transferredBytes: number('Total transferred file size'),
    transferredFiles: number('Number of regular files transferred'),
  };
}

export async function replicateFiles(options: FilesReplicationOptions): Promise<FilesReplicationResult> {
  const { source, target, peer, signal } = options;
  assertRemotePath(options.sourcePath, 'source path', { plain: true });
  assertRemotePath(options.targetRoot, 'target root', { plain: true });
  if (!Number.isInteger(options.keepGenerations) || options.keepGenerations < 1) {
    throw new InputError('keepGenerations must be at least 1');
  }
  const log = async (message: string, fields?: Record<string, unknown>, level?: 'info' | 'warn') => {
    await options.log?.(message, fields, level);
  };
  const root = options.targetRoot.replace(/\/+$/, '');
  const current = posix.join(root, 'current');
  const generation = generationName(options.now());
  const next = posix.join(root, generation);

  const rsync = async (checksum: boolean, tolerateVanished: boolean) => {
    const argv = rsyncPushArgv({
      sourcePath: `${options.sourcePath.replace(/\/+$/, '')}/`,
      peer,
      targetPath: `${next}/`,
      delete: true,
      partial: true,
      stats: true,
      numericIds: true,
      checksum,
    });
    // --link-dest: files unchanged since the current generation become hard links, not copies (on the first
    // run there is none: rsync warns and copies). --mkpath creates the new generation's directory, so the run
    // needs no separate command on the target first (rsync >= 3.2.3 on both hosts). --modify-window=-1
    // compares mtimes to the nanosecond: a same-size rewrite in the second of the last run is still copied.
    const extra = ['--mkpath', `--link-dest=${current}/`, '--modify-window=-1'];
    const result = await source.run([argv[0], ...extra, ...argv.slice(1)], { signal, check: false });
    if (result.exitCode !== 0 && !(tolerateVanished && result.exitCode === RSYNC_VANISHED)) {
      throw new Error(`rsync failed with exit code ${result.exitCode}: ${result.stderr.trim().slice(-800)}`);
    }
    return parseStats(result.stdout);
  };

  if (options.livePass) {
    const live = await rsync(false, true);
    await log('Live pass done', live);
  }
  const consistentAt = options.now();
  const quiesceStarted = Date.now();
  let stats: { transferredBytes: number; transferredFiles: number };
  for (const argv of options.quiesce ?? []) await source.run(argv, { signal });
  try {
    stats = await rsync(options.checksum ?? false, false);
  } finally {
    for (const argv of options.unquiesce ?? []) {
      // Unquiesce even when the run was cancelled: the app must not stay stopped because of us.
      await source.run(argv, {}).catch(error => log(`Unquiesce ${argv[0]} failed: ${(error as Error).message}`, {}, 'warn'));
    }
  }
  const quiescedMs = Date.now() - quiesceStarted;

  // Publish: the symlink swap is the commit point of this run (the same command lists the generations).
  const link = posix.join(root, `.current-${generation}`);
  const listing = await target.run(['sh', '-c', PUBLISH_GENERATION_SCRIPT, 'publish', generation, link, current, root], { signal });
  await log(`Generation ${generation} is current`, stats);

  const generations = listing.stdout
    .split('\n')
    .map(line => posix.basename(line.trim()))
    .filter(name => /^gen-[0-9TZ]+$/.test(name) && name <= generation)
    .sort();
  const removedGenerations = generations.slice(0, Math.max(0, generations.length - options.keepGenerations));
  const doomed = removedGenerations.filter(old => old !== generation).map(old => posix.join(root, old));
  if (doomed.length) await target.run(['rm', '-rf', '--', ...doomed], { signal });
  return { generation, consistentAt, quiescedMs, ...stats, removedGenerations };
}
