import { PeerEndpoint, sshArgv, toCommandLine } from '@fediversity/plugin-fediversity-node';
import { HostShell } from './hosts';
import { PEER_CIPHERS, peerOf } from './rsync';
import { StrategyEnv } from './strategy';

/*
 * The first copy into an empty target directory as one tar stream, run on the source host and piped over
 * ssh to a tar on the target: nothing can be delta-copied into an empty directory, and rsync's per-file
 * protocol and checksums make it CPU bound at about half of what the pipe carries. The archive is POSIX
 * (pax) so mtimes keep their nanoseconds: the rsync catch-up passes that follow (mtime compared to the
 * nanosecond) find the copied files equal without reading them again, and copy whatever changed meanwhile.
 * It holds the whole directory (`.`), so the directory's own attributes and every hard link come along.
 */

/** GNU tar's exit code when a file changed while it was read: normal while the app runs (the catch-up copies it). */
const TAR_FILES_CHANGED = 1;
const NO_SPACE = /No space left on device/;
/** tar's record size in 512-byte blocks on both sides: 128 KiB reads and writes instead of 10 KiB ones. */
const BLOCKING_FACTOR = '256';

/** The GNU tar version on a host (`1.34`), or undefined when it has none (another tar's options differ). */
export async function gnuTarVersion(host: HostShell, signal?: AbortSignal): Promise<string | undefined> {
  const result = await host.run(['tar', '--version'], { signal, check: false });
  const match = /^tar \(GNU tar\) (\d+\.\d+)/m.exec(result.stdout);
  return result.exitCode === 0 && match ? match[1] : undefined;
}

/** True when `path` on the host is a directory without entries (a first attempt's target). */
export async function isEmptyDirectory(host: HostShell, path: string, signal?: AbortSignal): Promise<boolean> {
  const result = await host.run(['find', path, '-mindepth', '1', '-maxdepth', '1', '-print', '-quit'], { signal, check: false });
  return result.exitCode === 0 && result.stdout === '';
}

export interface BulkCopy {
  /** Directory on the source host. */
  sourcePath: string;
  /** Directory on the target host (exists). */
  targetPath: string;
}

/**
 * The reading side, on the source: owners as numbers, files that vanish or cannot be read skipped (the
 * catch-up passes deal with them).
 */
export function tarCreateArgv(copy: BulkCopy): string[] {
  return ['tar', '-C', copy.sourcePath, '-b', BLOCKING_FACTOR, '--format=posix', '--numeric-owner', '--ignore-failed-read', '-cf', '-', '.'];
}

/**
 * The writing side: ssh from the source to the target as rsync's remote shell does (pinned key, the
 * job's identity, AES-GCM first), running tar there. GNU tar's defaults keep it inside `targetPath`:
 * it strips a leading `/` and refuses members with `..`, and creates symlinks that point elsewhere only
 * once everything else is extracted (so no member is written through one); never add --absolute-names.
 */
export function extractOnPeerArgv(peer: PeerEndpoint, targetPath: string): string[] {
  const argv = sshArgv(peer, ['tar', '-C', targetPath, '-b', BLOCKING_FACTOR, '--numeric-owner', '-xpf', '-']);
  argv.splice(1, 0, '-o', `Ciphers=${PEER_CIPHERS}`);
  return argv;
}

/** The whole pipe as one command for the source host; every word quoted, pipefail so no side's failure is masked. */
export function bulkCopyArgv(peer: PeerEndpoint, copy: BulkCopy): string[] {
  const pipe = `${toCommandLine(tarCreateArgv(copy))} | ${toCommandLine(extractOnPeerArgv(peer, copy.targetPath))}`;
  return ['bash', '-o', 'pipefail', '-c', pipe];
}

export interface BulkCopyOutcome {
  seconds: number;
  /** Some files changed while tar read them (exit 1); the catch-up passes copy them again. */
  filesChanged: boolean;
}

/** Runs the bulk copy on the source host; throws an error naming the pass on any failure of tar or ssh. */
export async function bulkCopyFromSource(env: StrategyEnv, copy: BulkCopy): Promise<BulkCopyOutcome> {
  const started = env.now();
  const result = await env.source.run(bulkCopyArgv(peerOf(env), copy), { signal: env.signal, check: false });
  const seconds = (env.now() - started) / 1000;
  const exitCode = result.exitCode ?? -1;
  if (exitCode === 0 || exitCode === TAR_FILES_CHANGED) return { seconds, filesChanged: exitCode === TAR_FILES_CHANGED };
  const tail = result.stderr.trim().split(/\r?\n/).slice(-5).join(' | ');
  const message = `Bulk copy (tar over ssh) ${copy.sourcePath} → target:${copy.targetPath} exited with ${exitCode}: ${tail}`;
  if (NO_SPACE.test(result.stderr)) throw new Error(`Target disk full: ${message}`);
  throw new Error(message);
}
