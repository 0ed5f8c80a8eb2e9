import { actionContext, outputsOf } from '../__testUtils__/actionContext';
import { MemoryCheckpointStore } from '../__testUtils__/checkpointStore';
import { SimulatorHarness, startSimulatorHarness } from '../__testUtils__/simulatorHarness';
import { createBackupScheduleAction, INSTANCE_BACKUP_JOB_KIND } from './backupSchedule';
import { FediversityActionDeps } from './deps';

jest.setTimeout(30_000);

let h: SimulatorHarness;
beforeAll(async () => {
  h = await startSimulatorHarness();
});
afterAll(() => h.stop());

function deps(enqueueJob: jest.Mock, getEntityByRef: jest.Mock = jest.fn(async () => ({}))): FediversityActionDeps {
  return {
    clusters: h.clusters,
    guestAccess: h.guestAccess,
    backend: { registerInstance: jest.fn(), enqueueJob, createSchedule: jest.fn(), listSchedules: jest.fn() },
    catalog: { getEntityByRef },
    flakeFiles: async () => [],
    timing: { pollInitialMs: 20 },
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

  it('waits for the instance to reach the catalog first (jobs are authorised against it), within a deadline', async () => {
    const enqueueJob = jest.fn(async () => ({ id: 'job-3', status: 'queued' }));
    const appearing = jest.fn().mockResolvedValueOnce(undefined).mockResolvedValueOnce(undefined).mockResolvedValue({});
    const ctx = actionContext(input, new MemoryCheckpointStore(), { taskId: 'task-d' });
    await createBackupScheduleAction(deps(enqueueJob, appearing)).handler(ctx);
    expect(appearing).toHaveBeenCalledTimes(3);
    expect(appearing).toHaveBeenCalledWith(input.entityRef, { credentials: expect.anything() });
    expect(ctx.logger.info).toHaveBeenCalledWith(`Waiting for ${input.entityRef} to appear in the catalog`);
    expect(enqueueJob).toHaveBeenCalledTimes(1);

    const never = actionContext({ ...input, catalogTimeoutSeconds: 1 }, new MemoryCheckpointStore(), { taskId: 'task-e' });
    await expect(createBackupScheduleAction(deps(enqueueJob, jest.fn(async () => undefined))).handler(never)).rejects.toThrow(
      /did not appear in the catalog within 1 s/,
    );
    expect(enqueueJob).toHaveBeenCalledTimes(1);
  });

  it('dry run enqueues nothing', async () => {
    const enqueueJob = jest.fn();
    const ctx = actionContext({ ...input, storage: 'local' }, new MemoryCheckpointStore(), { isDryRun: true });
    await createBackupScheduleAction(deps(enqueueJob)).handler(ctx);
    expect(enqueueJob).not.toHaveBeenCalled();
    expect(outputsOf(ctx).jobId).toBe('dry-run');
  });
});
