import { actionContext, outputsOf } from '../testing/actionContext';
import { MemoryCheckpointStore } from '../testing/checkpointStore';
import { SimulatorHarness, startSimulatorHarness } from '../testing/simulatorHarness';
import { createBackupScheduleAction, INSTANCE_BACKUP_JOB_KIND } from './backupSchedule';
import { FediversityActionDeps } from './deps';

jest.setTimeout(30_000);

let h: SimulatorHarness;
beforeAll(async () => {
  h = await startSimulatorHarness();
});
afterAll(() => h.stop());

function deps(enqueueJob: jest.Mock): FediversityActionDeps {
  return {
    clusters: h.clusters,
    guestAccess: h.guestAccess,
    backend: { registerInstance: jest.fn(), enqueueJob },
    flakeFiles: async () => [],
  };
}

const input = { entityRef: 'component:default/mastodon-social-example-org', node: 'pve-a', vmid: 101 };

describe('fediversity:backup:schedule', () => {
  it('enqueues one backup job on the node’s backup storage and returns without waiting for it', async () => {
    const enqueueJob = jest.fn(async () => ({ id: 'job-1', status: 'queued' }));
    const ctx = actionContext(input, new MemoryCheckpointStore(), { taskId: 'task-b' });
    await createBackupScheduleAction(deps(enqueueJob)).handler(ctx);
    expect(enqueueJob).toHaveBeenCalledWith(
      {
        kind: INSTANCE_BACKUP_JOB_KIND,
        entityRef: input.entityRef,
        params: { cluster: 'demo', node: 'pve-a', vmid: 101, storage: 'local' },
        idempotencyKey: 'task-b:backup:demo:101',
      },
      expect.anything(),
    );
    expect(outputsOf(ctx)).toEqual({ jobId: 'job-1', jobStatus: 'queued', kind: INSTANCE_BACKUP_JOB_KIND });
  });

  it('replays from its checkpoint and keeps the idempotency key after a crash', async () => {
    const enqueueJob = jest.fn(async () => ({ id: 'job-2', status: 'queued' }));
    const store = new MemoryCheckpointStore();
    const crashing = actionContext(input, store, { taskId: 'task-c' });
    crashing.checkpoint = (async ({ fn }: { fn: () => Promise<unknown> }) => {
      await fn();
      throw new Error('backend crashed');
    }) as any;
    await expect(createBackupScheduleAction(deps(enqueueJob)).handler(crashing)).rejects.toThrow('backend crashed');
    await createBackupScheduleAction(deps(enqueueJob)).handler(actionContext(input, store, { taskId: 'task-c' }));
    await createBackupScheduleAction(deps(enqueueJob)).handler(actionContext(input, store, { taskId: 'task-c' }));
    expect(enqueueJob).toHaveBeenCalledTimes(2);
    expect(new Set(enqueueJob.mock.calls.map((call: any[]) => call[0].idempotencyKey))).toEqual(new Set(['task-c:backup:demo:101']));
  });

  it('dry run enqueues nothing', async () => {
    const enqueueJob = jest.fn();
    const ctx = actionContext({ ...input, storage: 'local' }, new MemoryCheckpointStore(), { isDryRun: true });
    await createBackupScheduleAction(deps(enqueueJob)).handler(ctx);
    expect(enqueueJob).not.toHaveBeenCalled();
    expect(outputsOf(ctx).jobId).toBe('dry-run');
  });
});
