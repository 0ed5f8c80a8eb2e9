import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '@backstage/errors';
import { assertZfsDataset, pipeToPeerArgv, type PeerEndpoint } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { CommandRunner } from './commandRunner';

/*
 * ZFS replication: snapshot → send the delta since the newest snapshot both sides hold (matched by guid, never by
 * name alone) → verify the guid on the target → record the new common point → only then prune old snapshots.
 * The data goes from the source host straight to the target host (`zfs send | ssh target zfs receive`); the
 * portal only runs the commands. A failed run leaves the target at its last good snapshot.
 */

export interface ZfsSnapshot {
  /** The part after `@`. */
  name: string;
  guid: string;
  /** Seconds since the epoch. */
  creation: number;
}

export interface ZfsCommonPoint {
  snapshot: string;
  guid: string;
  /** When the snapshot was taken (ms): the recovery point of the copy. */
  takenAt: number;
}

export interface ZfsReplicationOptions {
  source: CommandRunner;
  sourceDataset: string;
  target: CommandRunner;
  targetDataset: string;
  /** How the source host reaches the target host over SSH (pinned key, per-job known_hosts). */
  peer: PeerEndpoint;
  /** Names this schedule's snapshots (`<prefix>_<time>`), so one schedule never prunes another's. */
  snapshotPrefix: string;
  /** Snapshots of this schedule kept on each side, newest first (at least 1: the common point). */
  keepSnapshots: number;
  /** Receive with `-s` and continue interrupted streams from their token where the pool supports it. */
  useResumeTokens?: boolean;
  now: () => number;
  signal?: AbortSignal;
  /** A snapshot an earlier attempt of this run created and did not finish sending (its checkpoint). */
  pendingSnapshot?: string;
  /** Persists the snapshot about to be sent, so a retry sends it instead of taking another. */
  savePendingSnapshot?(snapshot: string): Promise<void>;
  /** Persists the new common point. Old snapshots are pruned only after this resolves. */
  recordCommonPoint(point: ZfsCommonPoint): Promise<void>;
  log?(message: string, fields?: Record<string, unknown>, level?: 'info' | 'warn'): Promise<void> | void;
}

export interface ZfsReplicationResult {
  mode: 'full' | 'incremental';
  snapshot: string;
  guid: string;
  base?: string;
  resumedFromToken: boolean;
  rolledBackTarget: boolean;
  pruned: { source: string[]; target: string[] };
}

const SNAPSHOT_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,100}$/;

export class NoCommonSnapshotError extends PermanentJobError {
  name = 'NoCommonSnapshotError';
}

export class ForeignTargetSnapshotsError extends PermanentJobError {
  name = 'ForeignTargetSnapshotsError';
}

/** A dataset's snapshots (oldest first) and whether the dataset itself is read-only. */
export interface ZfsDatasetState {
  snapshots: ZfsSnapshot[];
  readonly: boolean;
}

// `zfs get` (not `zfs list -p`, which zfs-fuse lacks); -d 1 = the dataset itself and its own snapshots.
const LISTING = ['zfs', 'get', '-Hp', '-r', '-d', '1', '-o', 'name,property,value', 'guid,creation,readonly'];

/*
 * Fixed scripts, datasets and snapshot names only as positional arguments: one SSH round trip instead of two.
 * (Each remote command costs a session and a shell start; on small deltas that is most of a run.)
 */
const SNAPSHOT_THEN_LIST = `zfs snapshot -- "$1@$2" && exec ${LISTING.join(' ')} "$1"`;
const READONLY_THEN_LIST = `zfs set readonly=on "$1" && exec ${LISTING.join(' ')} "$1"`;

function parseDatasetState(stdout: string, dataset: string): ZfsDatasetState {
  const byName = new Map<string, Partial<ZfsSnapshot> & { order: number }>();
  let readonly = false;
  for (const line of stdout.split('\n')) {
    const [fullName, property, value] = line.split('\t');
    if (fullName === dataset) {
      if (property === 'readonly') readonly = value === 'on';
      continue;
    }
    if (!fullName?.startsWith(`${dataset}@`)) continue;
    const name = fullName.slice(dataset.length + 1);
    const entry = byName.get(name) ?? { name, order: byName.size };
    if (property === 'guid') entry.guid = value;
    if (property === 'creation') entry.creation = Number(value);
    byName.set(name, entry);
  }
  const snapshots = [...byName.values()]
    .filter((s): s is ZfsSnapshot & { order: number } => s.guid !== undefined && s.creation !== undefined)
    .sort((a, b) => a.creation - b.creation || a.order - b.order)
    .map(({ name, guid, creation }) => ({ name, guid, creation }));
  return { snapshots, readonly };
}

/** Runs a listing (or a script ending in one); undefined when the dataset does not exist. */
async function datasetState(
  runner: CommandRunner,
  dataset: string,
  argv: readonly string[],
  signal?: AbortSignal,
): Promise<ZfsDatasetState | undefined> {
  const result = await runner.run(argv, { signal, check: false });
  if (result.exitCode !== 0) {
    if (/does not exist/.test(result.stderr)) return undefined;
    throw new Error(`${argv.slice(0, 2).join(' ')} on ${dataset} failed: ${result.stderr.trim().slice(-500)}`);
  }
  return parseDatasetState(result.stdout, dataset);
}

async function readDataset(runner: CommandRunner, dataset: string, signal?: AbortSignal) {
  assertZfsDataset(dataset);
  return datasetState(runner, dataset, [...LISTING, dataset], signal);
}

/** Snapshots of a dataset, oldest first; undefined when the dataset does not exist. */
export async function listZfsSnapshots(
  runner: CommandRunner,
  dataset: string,
  signal?: AbortSignal,
): Promise<ZfsSnapshot[] | undefined> {
  return (await readDataset(runner, dataset, signal))?.snapshots;
}

/** The newest target snapshot whose guid the source also has (the incremental base), or undefined. */
export function findCommonSnapshot(source: ZfsSnapshot[], target: ZfsSnapshot[]): ZfsSnapshot | undefined {
  const sourceByGuid = new Map(source.map(snapshot => [snapshot.guid, snapshot]));
  for (let i = target.length - 1; i >= 0; i--) {
    const match = sourceByGuid.get(target[i].guid);
    if (match) return match;
  }
  return undefined;
}

/*
 * The target in one round trip: whether its pool has resumable receive (a `resume-token` line only then, with the
 * dataset's token or `-`; zfs-fuse and old pools have no such property) and the dataset's listing.
 * $1 = the pool, $2 = the dataset.
 */
const INSPECT_TARGET = [
  'if zfs get -H -o value receive_resume_token "$1" >/dev/null 2>&1; then',
  '  printf "resume-token\\t%s\\n" "$(zfs get -H -o value receive_resume_token "$2" 2>/dev/null || echo -)"',
  'fi',
  `exec ${LISTING.join(' ')} "$2"`,
].join('\n');

interface TargetInspection {
  resumable: boolean;
  /** The token of an interrupted resumable receive, if any. */
  token?: string;
  /** Undefined when the dataset does not exist. */
  state?: ZfsDatasetState;
}

async function inspectTarget(runner: CommandRunner, dataset: string, signal?: AbortSignal): Promise<TargetInspection> {
  const result = await runner.run(['bash', '-c', INSPECT_TARGET, 'inspect', dataset.split('/')[0], dataset], {
    signal,
    check: false,
  });
  if (result.exitCode !== 0 && !/does not exist/.test(result.stderr)) {
    throw new Error(`zfs get on ${dataset} failed: ${result.stderr.trim().slice(-500)}`);
  }
  const tokenLine = result.stdout.split('\n').find(line => line.startsWith('resume-token\t'));
  const token = tokenLine?.slice('resume-token\t'.length).trim();
  return {
    resumable: tokenLine !== undefined,
    token: token && token !== '-' ? token : undefined,
    state: result.exitCode === 0 ? parseDatasetState(result.stdout, dataset) : undefined,
  };
}

export function snapshotName(prefix: string, at: number): string {
  // 20261125T230102123Z: sorts by time, only characters ZFS allows.
  return `${prefix}_${new Date(at).toISOString().replace(/[-:.]/g, '')}`;
}

const ROLLBACK_ATTEMPTS = 3;
const ROLLBACK_PAUSE_MS = 250;

/**
 * Unmounts the replica (a read-write mount would keep reporting, and allowing, writes whatever the property
 * says) and rolls it back to `snapshot`. zfs-fuse answered such a rollback with an I/O error once, under two
 * test workers' load, and not in isolation: both commands are idempotent, so a failed rollback is tried again
 * after a pause, ROLLBACK_ATTEMPTS times in all, and only then reported. Exported for tests.
 */
export async function rollBackReplica(target: CommandRunner, dataset: string, snapshot: string, signal?: AbortSignal): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    await target.run(['zfs', 'unmount', dataset], { signal, check: false });
    const rolledBack = await target.run(['zfs', 'rollback', '--', `${dataset}@${snapshot}`], { signal, check: attempt === ROLLBACK_ATTEMPTS });
    if (rolledBack.exitCode === 0) return attempt;
    await sleep(ROLLBACK_PAUSE_MS, undefined, { signal });
  }
}

/** One replication run. Throws without touching the target's last good snapshot when anything is off. */
export async function replicateZfs(options: ZfsReplicationOptions): Promise<ZfsReplicationResult> {
  const { source, target, sourceDataset, targetDataset, peer, signal } = options;
  assertZfsDataset(sourceDataset, 'source dataset');
  assertZfsDataset(targetDataset, 'target dataset');
  if (sourceDataset.includes('@') || targetDataset.includes('@')) throw new InputError('Datasets, not snapshots');
  if (!SNAPSHOT_PREFIX.test(options.snapshotPrefix)) {
    throw new InputError(`Invalid snapshot prefix ${JSON.stringify(options.snapshotPrefix)}`);
  }
  if (!Number.isInteger(options.keepSnapshots) || options.keepSnapshots < 1) {
    throw new InputError('keepSnapshots must be at least 1');
  }
  const log = async (message: string, fields?: Record<string, unknown>, level?: 'info' | 'warn') => {
    await options.log?.(message, fields, level);
  };
  const receiveArgv = (extra: string[]) => ['zfs', 'receive', '-u', ...extra, '--', targetDataset];
  const send = (producer: string[], receiveFlags: string[]) =>
    source.run(pipeToPeerArgv(producer, peer, receiveArgv(receiveFlags)), { signal });

  let inspected = await inspectTarget(target, targetDataset, signal);
  const canResume = (options.useResumeTokens ?? true) && inspected.resumable;
  const resumeFlag = canResume ? ['-s'] : [];

  // 1. An interrupted resumable receive: finish it first (it only adds a snapshot the source already has).
  let resumedFromToken = false;
  if (canResume && inspected.token) {
    await log('Resuming an interrupted receive from its token');
    try {
      await send(['zfs', 'send', '-t', inspected.token], ['-s']);
      resumedFromToken = true;
    } catch (error) {
      await log(`Resume failed (${(error as Error).message.slice(0, 300)}); discarding the partial receive`, {}, 'warn');
      await target.run(['zfs', 'receive', '-A', '--', targetDataset], { signal });
    }
    inspected = await inspectTarget(target, targetDataset, signal);
  }

  // 2. The new consistent point on the source (reused if an earlier attempt of this run took it).
  let snapshot = options.pendingSnapshot;
  let sourceAfter: ZfsSnapshot[] | undefined;
  if (snapshot) {
    sourceAfter = (await readDataset(source, sourceDataset, signal))?.snapshots;
    if (!sourceAfter) throw new PermanentJobError(`Source dataset ${sourceDataset} does not exist`);
    if (!sourceAfter.some(s => s.name === snapshot)) snapshot = undefined;
  }
  if (!snapshot) {
    snapshot = snapshotName(options.snapshotPrefix, options.now());
    const taken = await datasetState(source, sourceDataset, ['bash', '-c', SNAPSHOT_THEN_LIST, 'snapshot', sourceDataset, snapshot], signal);
    if (!taken) throw new PermanentJobError(`Source dataset ${sourceDataset} does not exist`);
    sourceAfter = taken.snapshots;
    await options.savePendingSnapshot?.(snapshot);
    await log(`Snapshot ${sourceDataset}@${snapshot} taken`);
  }
  const newSnapshot = sourceAfter!.find(s => s.name === snapshot);
  if (!newSnapshot) throw new Error(`Snapshot ${sourceDataset}@${snapshot} is missing right after it was taken`);

  // 3. The base: the newest snapshot both sides hold with the same guid.
  const targetBefore = inspected.state;
  let mode: 'full' | 'incremental';
  let base: ZfsSnapshot | undefined;
  let rolledBackTarget = false;
  if (!targetBefore) {
    mode = 'full';
    await log(`Full send of ${sourceDataset}@${snapshot} to ${targetDataset}`);
    await send(['zfs', 'send', '--', `${sourceDataset}@${snapshot}`], resumeFlag);
  } else {
    const targetSnapshots = targetBefore.snapshots;
    base = findCommonSnapshot(sourceAfter!, targetSnapshots);
    if (!base) {
      throw new NoCommonSnapshotError(
        `${targetDataset} exists but shares no snapshot (by guid) with ${sourceDataset}; ` +
          'refusing to overwrite it. Rename or destroy the target deliberately, then run again for a full send.',
      );
    }
    mode = 'incremental';
    const baseIndex = targetSnapshots.findIndex(s => s.guid === base!.guid);
    const foreign = targetSnapshots.slice(baseIndex + 1).filter(s => s.guid !== newSnapshot.guid);
    if (foreign.length) {
      throw new ForeignTargetSnapshotsError(
        `${targetDataset} has snapshots newer than the common ${base.name} that the source does not have ` +
          `(${foreign.map(s => s.name).join(', ')}); refusing to destroy them`,
      );
    }
    if (base.guid !== newSnapshot.guid) {
      // The replica is meant to be read-only; anything written since the common snapshot is discarded.
      // A read-only replica cannot have changed: `receive -F` then only rolls back what it must, no extra step.
      if (!targetBefore.readonly) {
        await log(`${targetDataset} was writable: rolling it back to ${base.name} and making it read-only`, {}, 'warn');
        rolledBackTarget = true;
        await rollBackReplica(target, targetDataset, base.name, signal);
      }
      await log(`Incremental send ${base.name} → ${snapshot}`);
      await send(
        ['zfs', 'send', '-I', `${sourceDataset}@${base.name}`, '--', `${sourceDataset}@${snapshot}`],
        ['-F', ...resumeFlag],
      );
    }
  }
  // Received datasets come up writable (zfs-fuse has no `receive -o readonly=on`): set it with the final listing.
  const stayedReadonly = mode === 'incremental' && targetBefore!.readonly;
  const targetAfter = stayedReadonly
    ? await readDataset(target, targetDataset, signal)
    : await datasetState(target, targetDataset, ['bash', '-c', READONLY_THEN_LIST, 'readonly', targetDataset], signal);

  // 4. Verify by guid, record, and only then prune.
  const received = targetAfter?.snapshots.find(s => s.name === snapshot);
  if (!received || received.guid !== newSnapshot.guid) {
    throw new Error(
      `After the receive ${targetDataset}@${snapshot} has guid ${received?.guid ?? 'none'}, expected ${newSnapshot.guid}`,
    );
  }
  await options.recordCommonPoint({ snapshot, guid: newSnapshot.guid, takenAt: newSnapshot.creation * 1000 });

  const pruned = {
    source: await prune(source, sourceDataset, sourceAfter!, snapshot, options, signal),
    target: await prune(target, targetDataset, targetAfter!.snapshots, snapshot, options, signal),
  };
  if (pruned.source.length || pruned.target.length) await log('Pruned old replication snapshots', pruned);
  return { mode, snapshot, guid: newSnapshot.guid, base: base?.name, resumedFromToken, rolledBackTarget, pruned };
}

/** Destroys this schedule's snapshots older than the common one beyond `keepSnapshots`. */
async function prune(
  runner: CommandRunner,
  dataset: string,
  snapshots: ZfsSnapshot[],
  common: string,
  options: Pick<ZfsReplicationOptions, 'snapshotPrefix' | 'keepSnapshots'>,
  signal?: AbortSignal,
): Promise<string[]> {
  const ours = snapshots.filter(s => s.name.startsWith(`${options.snapshotPrefix}_`));
  const commonIndex = ours.findIndex(s => s.name === common);
  if (commonIndex < 0) return [];
  const older = ours.slice(0, commonIndex);
  const doomed = older.slice(0, Math.max(0, ours.length - options.keepSnapshots));
  for (const s of doomed) {
    await runner.run(['zfs', 'destroy', '--', `${dataset}@${s.name}`], { signal });
  }
  return doomed.map(s => s.name);
}
