import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localRunner } from './commandRunner';
import { startTestSshHosts, TestSshHosts } from './__testUtils__/sshHosts';
import { startTestZfs, TestZfs } from './__testUtils__/zfsFuse';
import {
  ForeignTargetSnapshotsError,
  listZfsSnapshots,
  NoCommonSnapshotError,
  replicateZfs,
  ZfsCommonPoint,
  ZfsReplicationOptions,
} from './zfs';

jest.setTimeout(180_000);

let zfs: TestZfs | string;
let hosts: TestSshHosts | string;
let sourcePool: string;
let targetPool: string;

beforeAll(async () => {
  zfs = await startTestZfs();
  hosts = await startTestSshHosts();
  if (typeof zfs === 'string') return;
  sourcePool = await zfs.createPool('fsrc');
  targetPool = await zfs.createPool('fdst');
});

afterAll(async () => {
  if (typeof hosts !== 'string') await hosts?.stop();
  if (typeof zfs !== 'string') await zfs?.stop();
});

function ready(): { zfs: TestZfs; hosts: TestSshHosts } | undefined {
  if (typeof zfs === 'string' || typeof hosts === 'string') {
    console.warn(`Skipping ZFS replication test: ${typeof zfs === 'string' ? zfs : hosts}`);
    return undefined;
  }
  return { zfs, hosts };
}

let datasetCounter = 0;
/** A fresh source dataset mounted under the test dir, with a file in it. */
async function sourceDataset(env: { zfs: TestZfs }): Promise<{ dataset: string; mountpoint: string; target: string }> {
  datasetCounter++;
  const mountpoint = join(env.zfs.dir, `mnt-${datasetCounter}`);
  const dataset = `${sourcePool}/app${datasetCounter}`;
  await localRunner.run(['zfs', 'create', '-o', `mountpoint=${mountpoint}`, dataset]);
  await writeFile(join(mountpoint, 'first'), randomBytes(256 * 1024));
  return { dataset, mountpoint, target: `${targetPool}/app${datasetCounter}` };
}

let clock = Date.parse('2026-11-25T20:00:00Z');
const nextTime = () => (clock += 1000);

/** Runs with a clock that moves a second per call, so snapshot names differ. */
function options(
  env: { hosts: TestSshHosts },
  dataset: string,
  target: string,
  points: ZfsCommonPoint[],
  extra: Partial<ZfsReplicationOptions> = {},
): ZfsReplicationOptions {
  return {
    source: env.hosts.source,
    sourceDataset: dataset,
    target: env.hosts.target,
    targetDataset: target,
    peer: env.hosts.peer,
    snapshotPrefix: 'fedi_test',
    keepSnapshots: 2,
    now: nextTime,
    recordCommonPoint: async point => {
      points.push(point);
    },
    ...extra,
  };
}

/** Whether the pool has resumable receive (`receive_resume_token`); zfs-fuse's pool version 23 has not. */
async function poolHasResumeTokens(pool: string): Promise<boolean> {
  const probe = await localRunner.run(['zfs', 'get', '-H', '-o', 'value', 'receive_resume_token', pool], { check: false });
  return probe.exitCode === 0;
}

async function lastGuids(source: string, target: string) {
  const s = (await listZfsSnapshots(localRunner, source))!;
  const t = (await listZfsSnapshots(localRunner, target))!;
  return { source: s[s.length - 1], target: t[t.length - 1], sourceAll: s, targetAll: t };
}

describe('replicateZfs on real pools (zfs-fuse) over SSH', () => {
  it('sends in full, then incrementally, keeps the target read-only and prunes after recording', async () => {
    const env = ready();
    if (!env) return;
    const { dataset, mountpoint, target } = await sourceDataset(env);
    const points: ZfsCommonPoint[] = [];

    const first = await replicateZfs(options(env, dataset, target, points));
    expect(first.mode).toBe('full');
    let guids = await lastGuids(dataset, target);
    expect(guids.target.guid).toBe(guids.source.guid);
    expect(points).toEqual([expect.objectContaining({ snapshot: first.snapshot, guid: guids.source.guid })]);
    const readonly = await localRunner.run(['zfs', 'get', '-H', '-o', 'value', 'readonly', target]);
    expect(readonly.stdout.trim()).toBe('on');

    for (let run = 0; run < 2; run++) {
      await writeFile(join(mountpoint, `more-${run}`), randomBytes(64 * 1024));
      const next = await replicateZfs(options(env, dataset, target, points));
      expect(next.mode).toBe('incremental');
      guids = await lastGuids(dataset, target);
      expect(guids.target).toMatchObject({ name: next.snapshot, guid: guids.source.guid });
    }
    // keepSnapshots = 2: the oldest of three runs was pruned on both sides, after the third was recorded.
    expect(guids.sourceAll.map(s => s.name)).toEqual(points.slice(1).map(p => p.snapshot));
    expect(guids.targetAll.map(s => s.guid)).toEqual(points.slice(1).map(p => p.guid));
  });

  it('restarts an interrupted incremental send: the target keeps its last good snapshot meanwhile', async () => {
    const env = ready();
    if (!env) return;
    const { dataset, mountpoint, target } = await sourceDataset(env);
    const points: ZfsCommonPoint[] = [];
    await replicateZfs(options(env, dataset, target, points));
    const good = await lastGuids(dataset, target);

    await writeFile(join(mountpoint, 'big'), randomBytes(48 * 1024 * 1024));
    const abort = new AbortController();
    let pending: string | undefined;
    const watcher = (async () => {
      // Abort once the receive is running on the target, i.e. mid-stream.
      for (let i = 0; i < 1000 && !abort.signal.aborted; i++) {
        const ps = await localRunner.run(['pgrep', '-f', `zfs receive -u .*${target}`], { check: false });
        if (ps.exitCode === 0) {
          await new Promise(resolve => setTimeout(resolve, 150));
          abort.abort(new Error('test interrupts the send'));
          return true;
        }
        await new Promise(resolve => setTimeout(resolve, 20));
      }
      return false;
    })();
    await expect(
      replicateZfs(
        options(env, dataset, target, points, {
          signal: abort.signal,
          savePendingSnapshot: async s => {
            pending = s;
          },
        }),
      ),
    ).rejects.toThrow();
    expect(await watcher).toBe(true);
    expect(points).toHaveLength(1);
    // Give the killed receive a moment to be torn down by ZFS, then check the target is untouched.
    await new Promise(resolve => setTimeout(resolve, 500));
    const afterAbort = await lastGuids(dataset, target);
    expect(afterAbort.target.guid).toBe(good.target.guid);
    expect(pending).toBeDefined();

    const rerun = await replicateZfs(options(env, dataset, target, points, { pendingSnapshot: pending }));
    // zfs-fuse (pool version 23) has no resumable receive: the run restarts the stream. Kernel OpenZFS
    // keeps the partial receive and the run finishes it from its token.
    expect(rerun).toMatchObject({ mode: 'incremental', snapshot: pending, resumedFromToken: await poolHasResumeTokens(targetPool) });
    const after = await lastGuids(dataset, target);
    expect(after.target.guid).toBe(after.source.guid);
    expect(after.target.name).toBe(pending);
  });

  it('refuses a target that shares no snapshot with the source, leaving it as it was', async () => {
    const env = ready();
    if (!env) return;
    const { dataset, target } = await sourceDataset(env);
    await localRunner.run(['zfs', 'create', target]);
    await localRunner.run(['zfs', 'snapshot', `${target}@unrelated`]);
    const before = await listZfsSnapshots(localRunner, target);
    const points: ZfsCommonPoint[] = [];
    await expect(replicateZfs(options(env, dataset, target, points))).rejects.toBeInstanceOf(NoCommonSnapshotError);
    expect(await listZfsSnapshots(localRunner, target)).toEqual(before);
    expect(points).toEqual([]);

    // An operator destroys the unrelated target deliberately: the next run sends in full, guids then agree.
    await localRunner.run(['zfs', 'destroy', '-r', target]);
    const full = await replicateZfs(options(env, dataset, target, points));
    expect(full.mode).toBe('full');
    const after = await lastGuids(dataset, target);
    expect(after.target).toMatchObject({ name: full.snapshot, guid: after.source.guid });
    expect(after.targetAll.map(s => s.name)).not.toContain('unrelated');
  });

  it('rolls a modified target back to the common snapshot, makes it read-only again, and goes on', async () => {
    const env = ready();
    if (!env) return;
    const { dataset, mountpoint, target } = await sourceDataset(env);
    const points: ZfsCommonPoint[] = [];
    await replicateZfs(options(env, dataset, target, points));

    const targetMount = join(env.zfs.dir, `target-${datasetCounter}`);
    await localRunner.run(['zfs', 'set', 'readonly=off', target]);
    await localRunner.run(['zfs', 'set', `mountpoint=${targetMount}`, target]);
    await localRunner.run(['zfs', 'mount', target], { check: false });
    await writeFile(join(targetMount, 'written-on-the-replica'), 'oops');
    await writeFile(join(mountpoint, 'second'), randomBytes(1024));

    const result = await replicateZfs(options(env, dataset, target, points));
    expect(result).toMatchObject({ mode: 'incremental', rolledBackTarget: true });
    const after = await lastGuids(dataset, target);
    expect(after.target.guid).toBe(after.source.guid);
    // The same snapshots (by guid) on both sides: the replica's own write is gone, not merged.
    expect(after.targetAll.map(s => s.guid)).toEqual(after.sourceAll.map(s => s.guid));
    const readonly = await localRunner.run(['zfs', 'get', '-H', '-o', 'value', 'readonly', target]);
    expect(readonly.stdout.trim()).toBe('on');
  });

  it('refuses to destroy snapshots someone took on the target after the common one', async () => {
    const env = ready();
    if (!env) return;
    const { dataset, target } = await sourceDataset(env);
    const points: ZfsCommonPoint[] = [];
    await replicateZfs(options(env, dataset, target, points));
    await localRunner.run(['zfs', 'snapshot', `${target}@operator-kept`]);
    await expect(replicateZfs(options(env, dataset, target, points))).rejects.toBeInstanceOf(
      ForeignTargetSnapshotsError,
    );
    const names = (await listZfsSnapshots(localRunner, target))!.map(s => s.name);
    expect(names).toContain('operator-kept');
  });

  it('on zfs-fuse: no resume tokens, so the strategy receives without -s and never tries send -t', async () => {
    const env = ready();
    if (!env) return;
    if (await poolHasResumeTokens(targetPool)) {
      console.warn('Kernel OpenZFS: resume tokens are exercised by the interrupted-send test');
      return;
    }
    const { dataset, target } = await sourceDataset(env);
    const commands: string[] = [];
    const recording = (runner: typeof env.hosts.source) => ({
      run: (argv: readonly string[], opts?: any) => {
        commands.push(argv.join(' '));
        return runner.run(argv, opts);
      },
    });
    await replicateZfs({ ...options(env, dataset, target, []), source: recording(env.hosts.source), target: recording(env.hosts.target) });
    expect(commands.some(c => / receive -u .*-s /.test(c) || / send -t /.test(c))).toBe(false);
    // What zfs-fuse 0.7 (pool version 23) rejects, checked here so the README's list stays true.
    for (const argv of [['zfs', 'receive', '-s', `${targetPool}/x`], ['zfs', 'send', '-t', 'token'], ['zfs', 'receive', '-A', `${targetPool}/x`], ['zfs', 'bookmark', `${dataset}@x`, `${dataset}#x`]]) {
      const result = await localRunner.run(argv, { check: false });
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/invalid option|unrecognized command/);
    }
  });
});
