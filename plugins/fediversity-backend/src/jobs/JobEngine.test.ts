import { mockServices } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { join } from 'node:path';
import { Clock } from './clock';
import { EngineStoppingError, JobCancelledError, PermanentJobError } from './errors';
import { JobEngine } from './JobEngine';
import { JobService } from './JobService';
import { JobStore } from './JobStore';
import { Redactor } from './redaction';
import { JobKindRegistry } from './registry';
import { JobTestDatabases } from './__testUtils__/databases';
import { runJobsJanitor } from './janitor';
import { FakeClock, settle } from './__testUtils__/FakeClock';
import { expectGoldenLog, renderEventLog } from './__testUtils__/goldenLog';
import { JobKind } from './types';

/**
 * State-machine tests in the style of Proxmox's replication tests: an injected clock, fake step effects,
 * and each scenario's event log compared with a committed golden file in __golden__/.
 */

jest.setTimeout(30_000);

const T0 = 1_000_000;
const LEASE_MS = 60_000;
const HEARTBEAT_MS = 10_000;
const ENTITY = 'component:default/mastodon';
const ALICE = 'user:default/alice';

const databases = new JobTestDatabases();
afterAll(() => databases.stop());

interface Harness {
  clock: FakeClock;
  store: JobStore;
  kinds: JobKindRegistry;
  service: JobService;
  engine: JobEngine;
  /** Another instance on the same database. */
  newEngine(owner: string, clock?: Clock): JobEngine;
  golden(name: string, jobId: string): Promise<void>;
}

async function harness(kinds: JobKind<any>[]): Promise<Harness> {
  const knex: Knex = await databases.init('SQLITE_3');
  const clock = new FakeClock(T0);
  const store = new JobStore(knex);
  const registry = new JobKindRegistry(kinds);
  const redactor = new Redactor();
  const newEngine = (owner: string, engineClock: Clock = clock) =>
    new JobEngine({
      store,
      kinds: registry,
      logger: mockServices.logger.mock(),
      clock: engineClock,
      redactor,
      owner,
      concurrency: 1,
      leaseMs: LEASE_MS,
      heartbeatMs: HEARTBEAT_MS,
      random: () => 0.5,
    });
  const engine = newEngine('engine-a');
  // Without an engine: each test drives the engines itself (runUntilIdle), so nothing claims early.
  const service = new JobService({ store, kinds: registry, clock, redactor });
  return {
    clock,
    store,
    kinds: registry,
    service,
    engine,
    newEngine,
    async golden(name, jobId) {
      const log = renderEventLog(await store.listEvents(jobId, 0, 10_000), T0);
      expectGoldenLog(join(__dirname, '__golden__', `${name}.log`), log);
    },
  };
}

async function create(h: Harness, kind: string, params: Record<string, unknown> = {}) {
  const { job } = await h.service.create({ kind, entityRef: ENTITY, params }, ALICE);
  return job.id;
}

describe('JobEngine', () => {
  it('runs the steps in order, passing outputs, checkpoints and progress', async () => {
    const seen: unknown[] = [];
    const h = await harness([
      {
        kind: 'test.steps',
        steps: [
          {
            name: 'prepare',
            run: async ctx => {
              await ctx.log('Preparing', { target: 'pve-b' });
              return { snapshot: 'snap-1' };
            },
          },
          {
            name: 'copy',
            run: async ctx => {
              seen.push(ctx.outputs.prepare, ctx.checkpoint);
              await ctx.progress({ done: 1, total: 2 });
              await ctx.saveCheckpoint({ pass: 1 });
              return { bytes: 42 };
            },
          },
          { name: 'finish', run: async () => undefined },
        ],
      },
    ]);
    const id = await create(h, 'test.steps');
    await h.engine.runUntilIdle();

    const job = await h.service.get(id);
    expect(job).toMatchObject({ status: 'succeeded', progress: { stepsDone: 3, stepsTotal: 3 } });
    expect(seen).toEqual([{ snapshot: 'snap-1' }, undefined]);
    expect((await h.store.getSteps(id))[1]).toMatchObject({ checkpoint: { pass: 1 }, output: { bytes: 42 } });
    await h.golden('happy-path', id);
  });

  it('records each success with the next step’s start, in one commit; the last one on its own', async () => {
    const statusesSeen: string[][] = [];
    const h = await harness([
      {
        kind: 'test.commits',
        steps: [
          { name: 'one', run: async () => ({ n: 1 }) },
          { name: 'two', run: async ctx => seeSteps(ctx) },
          { name: 'three', run: async ctx => seeSteps(ctx) },
        ],
      },
    ]);
    async function seeSteps(ctx: { job: { id: string } }) {
      statusesSeen.push((await h.store.getSteps(ctx.job.id)).map(step => step.status));
    }
    const completeStep = jest.spyOn(h.store, 'completeStep');
    const startStep = jest.spyOn(h.store, 'startStep');
    const id = await create(h, 'test.commits');
    await h.engine.runUntilIdle();

    expect((await h.service.get(id))?.status).toBe('succeeded');
    // A running step sees the one before it recorded: the start that let it run carried that success.
    expect(statusesSeen).toEqual([
      ['succeeded', 'running', 'pending'],
      ['succeeded', 'succeeded', 'running'],
    ]);
    expect(startStep.mock.calls.map(call => call[4]?.name)).toEqual([undefined, 'one', 'two']);
    expect(completeStep.mock.calls.map(call => call[2])).toEqual(['three']);
    expect((await h.store.getSteps(id)).map(step => step.output)).toEqual([{ n: 1 }, undefined, undefined]);
  });

  it('writes a step’s outcome (redacted) with its success, in no commit of its own; a failed step drops it', async () => {
    const h = await harness([
      {
        kind: 'test.outcome',
        steps: [
          {
            name: 'check',
            run: async ctx => {
              ctx.registerSecret('s3cr3t-token');
              ctx.logOutcome('Compared with s3cr3t-token', { equal: true });
              return { equal: true };
            },
          },
          {
            name: 'doomed',
            run: async ctx => {
              ctx.logOutcome('Never written');
              throw new PermanentJobError('Gave up');
            },
          },
        ],
      },
    ]);
    const appendEvent = jest.spyOn(h.store, 'appendEvent');
    const id = await create(h, 'test.outcome');
    await h.engine.runUntilIdle();

    expect((await h.service.get(id))?.status).toBe('failed');
    const messages = (await h.store.listEvents(id, 0, 100)).map(event => [event.step, event.message, event.fields]);
    const check = messages.findIndex(([, message]) => message === 'Compared with [REDACTED]');
    expect(messages.slice(check, check + 3)).toEqual([
      ['check', 'Compared with [REDACTED]', { equal: true }],
      ['check', 'Step succeeded', undefined],
      ['doomed', 'Step started (attempt 1)', undefined],
    ]);
    expect(messages.map(([, message]) => message)).not.toContain('Never written');
    expect(appendEvent.mock.calls.map(call => call[2].message)).not.toContain('Compared with [REDACTED]');
  });

  it('retries a failing step with exponential backoff on the injected clock', async () => {
    let failuresLeft = 2;
    const h = await harness([
      {
        kind: 'test.flaky',
        retry: { maxAttempts: 4, initialDelayMs: 10_000, maxDelayMs: 60_000 },
        steps: [
          {
            name: 'sync',
            run: async () => {
              if (failuresLeft-- > 0) throw new Error('connection reset');
              return 'synced';
            },
          },
        ],
      },
    ]);
    const id = await create(h, 'test.flaky');
    await h.engine.runUntilIdle();
    // random() = 0.5: half the base fixed, a quarter from the jitter.
    expect(await h.store.getJob(id)).toMatchObject({ status: 'queued', nextRunAt: T0 + 7_500 });

    await h.clock.advance(7_499);
    await h.engine.runUntilIdle();
    expect((await h.store.getJob(id))?.status).toBe('queued');

    await h.clock.advance(1);
    await h.engine.runUntilIdle();
    expect(await h.store.getJob(id)).toMatchObject({ status: 'queued', nextRunAt: T0 + 7_500 + 15_000 });

    await h.clock.advance(15_000);
    await h.engine.runUntilIdle();
    expect((await h.store.getJob(id))?.status).toBe('succeeded');
    await h.golden('retry-backoff', id);
  });

  it('fails after the last attempt, compensates earlier steps, and resumes after a retry', async () => {
    let syncWorks = false;
    const unquiesced: number[] = [];
    const h = await harness([
      {
        kind: 'test.migrate',
        retry: { maxAttempts: 2, initialDelayMs: 1_000, maxDelayMs: 1_000 },
        steps: [
          {
            name: 'quiesce',
            run: async ctx => ctx.log('Maintenance mode on'),
            compensate: async ctx => {
              unquiesced.push(ctx.clock.now());
              await ctx.log('Maintenance mode off');
            },
          },
          {
            name: 'final-sync',
            run: async () => {
              if (!syncWorks) throw new Error('rsync exited with 23');
            },
          },
        ],
      },
    ]);
    const id = await create(h, 'test.migrate');
    await h.engine.runUntilIdle();
    await h.clock.advance(1_000);
    await h.engine.runUntilIdle();
    expect(await h.service.get(id)).toMatchObject({
      status: 'failed',
      error: { message: 'rsync exited with 23' },
    });
    expect(unquiesced).toEqual([T0 + 1_000]);

    syncWorks = true;
    await h.clock.advance(5_000);
    await h.service.retry(id, ALICE);
    await h.engine.runUntilIdle();
    expect((await h.service.get(id)).status).toBe('succeeded');
    await h.golden('failure-compensation-retry', id);
  });

  it('gives compensations the checkpoint their step saved earlier in the same run', async () => {
    const undone: unknown[] = [];
    const h = await harness([
      {
        kind: 'test.checkpointed-undo',
        steps: [
          {
            name: 'create-slot',
            run: async ctx => {
              await ctx.saveCheckpoint({ slot: 'migration_1' });
              return 'created';
            },
            compensate: async ctx => {
              undone.push(ctx.checkpoint);
              await ctx.log('Dropping the slot', { checkpoint: ctx.checkpoint });
            },
          },
          {
            name: 'stop-source',
            run: async ctx => {
              await ctx.saveCheckpoint({ stoppedAt: ctx.clock.now() });
              throw new PermanentJobError('pg_ctl stop timed out');
            },
            compensate: async ctx => {
              undone.push(ctx.checkpoint);
              await ctx.log('Restarting the source', { checkpoint: ctx.checkpoint });
            },
          },
        ],
      },
    ]);
    const id = await create(h, 'test.checkpointed-undo');
    await h.engine.runUntilIdle();
    expect((await h.service.get(id)).status).toBe('failed');
    expect(undone).toEqual([{ stoppedAt: T0 }, { slot: 'migration_1' }]);
    await h.golden('compensation-sees-checkpoint', id);
  });

  it('gives compensations the outputs of the steps that succeeded, also in a run that ran none of them', async () => {
    const seen: unknown[] = [];
    const h = await harness([
      {
        kind: 'test.outputs-in-undo',
        steps: [
          { name: 'provision', run: async () => ({ address: '198.51.100.7' }) },
          {
            name: 'copy',
            run: async () => 'copied',
            compensate: async ctx => {
              seen.push(ctx.outputs);
            },
          },
          { name: 'approve', approvalGate: true },
          { name: 'cut-over', pointOfNoReturn: true, reconcile: async () => ({ done: false }), run: async () => 'served' },
        ],
      },
    ]);
    const id = await create(h, 'test.outputs-in-undo');
    await h.engine.runUntilIdle();
    expect((await h.service.get(id)).status).toBe('awaiting_approval');
    await h.service.cancel(id, 'user:default/bob');
    await h.engine.runUntilIdle();
    expect((await h.service.get(id)).status).toBe('cancelled');
    expect(seen).toEqual([{ provision: { address: '198.51.100.7' }, copy: 'copied' }]);
  });

  it('fails a step at once on a PermanentJobError', async () => {
    const h = await harness([
      {
        kind: 'test.permanent',
        steps: [
          {
            name: 'check',
            run: async () => {
              throw new PermanentJobError('rsync 3.0 on the target; 3.1 or newer needed');
            },
          },
        ],
      },
    ]);
    const id = await create(h, 'test.permanent');
    await h.engine.runUntilIdle();
    expect((await h.service.get(id)).status).toBe('failed');
    await h.golden('permanent-failure', id);
  });

  it('parks at the approval gate until someone approves, and records who', async () => {
    const promoted: string[] = [];
    const h = await harness([
      {
        kind: 'test.cutover',
        steps: [
          { name: 'catch-up', run: async () => 'lag 0' },
          { name: 'approve-cutover', title: 'Approve the cut-over', approvalGate: true },
          {
            name: 'promote',
            pointOfNoReturn: true,
            reconcile: async ctx => ({ done: promoted.includes(ctx.job.id) }),
            run: async ctx => {
              promoted.push(ctx.job.id);
            },
          },
        ],
      },
    ]);
    const id = await create(h, 'test.cutover');
    await h.engine.runUntilIdle();
    expect((await h.service.get(id)).status).toBe('awaiting_approval');
    await h.clock.advance(3_600_000);
    await h.engine.runUntilIdle();
    expect(promoted).toEqual([]);

    await h.service.approve(id, 'user:default/bob', { comment: 'window agreed with users' });
    await h.engine.runUntilIdle();
    const job = await h.service.get(id);
    expect(job.status).toBe('succeeded');
    expect(job.steps[1]).toMatchObject({
      status: 'succeeded',
      approvalGate: true,
      approval: { approvedBy: 'user:default/bob', comment: 'window agreed with users' },
    });
    expect(job.steps[2].pointOfNoReturn).toBe(true);
    expect(promoted).toEqual([id]);
    await h.golden('approval-gate', id);
  });

  it('cancels and rolls back a job whose approval deadline passes, found by the janitor without a worker', async () => {
    const effects: string[] = [];
    const h = await harness([
      {
        kind: 'test.deadline',
        steps: [
          {
            name: 'catch-up',
            run: async () => effects.push('standby streaming'),
            compensate: async () => {
              effects.push('standby stopped');
            },
          },
          {
            name: 'approve-cutover',
            approvalGate: true,
            timeoutMs: (params: { timeoutSeconds: number }) => params.timeoutSeconds * 1000,
            timeoutOutcome: 'the source keeps serving',
          },
          {
            name: 'promote',
            pointOfNoReturn: true,
            reconcile: async () => ({ done: false }),
            run: async () => effects.push('promoted'),
          },
        ],
      },
    ]);
    const janitor = () => runJobsJanitor({ store: h.store, clock: h.clock, logger: mockServices.logger.mock() });
    const id = await create(h, 'test.deadline', { timeoutSeconds: 3_600 });
    await h.engine.runUntilIdle();
    expect(await h.service.get(id)).toMatchObject({
      status: 'awaiting_approval',
      approvalDeadline: new Date(T0 + 3_600_000).toISOString(),
    });

    await h.clock.advance(3_600_000 - 1);
    await janitor();
    expect((await h.store.getJob(id))?.status).toBe('awaiting_approval');

    await h.clock.advance(1);
    await expect(h.service.approve(id, 'user:default/bob', {})).rejects.toThrow(/deadline of job .* passed/);
    // No engine runs here: the janitor alone notices, and the job waits for a worker to roll it back.
    await janitor();
    expect(await h.store.getJob(id)).toMatchObject({ status: 'queued', cancelRequested: true });
    await janitor();

    await h.clock.advance(5_000);
    await h.engine.runUntilIdle();
    const job = await h.service.get(id);
    expect(job).toMatchObject({
      status: 'cancelled',
      error: {
        name: 'ApprovalExpired',
        message: `No approval of approve-cutover by its deadline ${new Date(T0 + 3_600_000).toISOString()}; rolled back: the source keeps serving`,
      },
    });
    expect(job.approvalDeadline).toBeUndefined();
    expect(job.steps.map(step => step.status)).toEqual(['compensated', 'failed', 'pending']);
    expect(effects).toEqual(['standby streaming', 'standby stopped']);
    await h.golden('approval-deadline', id);
  });

  it('an approval in time clears the deadline', async () => {
    const h = await harness([
      {
        kind: 'test.deadline-met',
        steps: [
          { name: 'approve', approvalGate: true, timeoutMs: () => 60_000 },
          { name: 'apply', run: async () => 'applied' },
        ],
      },
    ]);
    const id = await create(h, 'test.deadline-met');
    await h.engine.runUntilIdle();
    await h.clock.advance(59_999);
    await h.service.approve(id, 'user:default/bob', {});
    await h.clock.advance(10_000);
    await runJobsJanitor({ store: h.store, clock: h.clock, logger: mockServices.logger.mock() });
    await h.engine.runUntilIdle();
    expect(await h.service.get(id)).toMatchObject({ status: 'succeeded', approvalDeadline: undefined });
  });

  it('a job stored without the deadline param waits without a deadline', async () => {
    const h = await harness([
      {
        kind: 'test.deadline-added-later',
        steps: [
          { name: 'approve', approvalGate: true, timeoutMs: (params: { timeoutSeconds?: number }) => params.timeoutSeconds! * 1000 },
          { name: 'apply', run: async () => 'applied' },
        ],
      },
    ]);
    const id = await create(h, 'test.deadline-added-later');
    await h.engine.runUntilIdle();
    await h.clock.advance(365 * 86_400_000);
    await runJobsJanitor({ store: h.store, clock: h.clock, logger: mockServices.logger.mock() });
    expect(await h.service.get(id)).toMatchObject({ status: 'awaiting_approval', approvalDeadline: undefined });
  });

  it('cancels a running step through its AbortSignal (seen at the heartbeat) and compensates', async () => {
    const killed: unknown[] = [];
    const h = await harness([
      {
        kind: 'test.transfer',
        steps: [
          { name: 'snapshot', run: async () => 'snap', compensate: async ctx => ctx.log('Snapshot removed') },
          {
            name: 'transfer',
            run: async ctx => {
              // Stands for a remote process: the SSH handle kills it when the signal aborts.
              ctx.signal.addEventListener('abort', () => killed.push(ctx.signal.reason));
              await ctx.sleep(3_600_000);
            },
          },
          { name: 'never', run: async () => undefined },
        ],
      },
    ]);
    const id = await create(h, 'test.transfer');
    const idle = h.engine.runUntilIdle();
    await settle(20);
    expect((await h.store.getJob(id))?.currentStep).toBe('transfer');

    await h.clock.advance(5_000);
    await h.store.requestCancel(id, 'user:default/bob', 'wrong target', h.clock.now());
    await h.clock.advance(HEARTBEAT_MS);
    await idle;

    expect(killed).toEqual([expect.any(JobCancelledError)]);
    const job = await h.service.get(id);
    expect(job.status).toBe('cancelled');
    expect(job.steps.map(step => step.status)).toEqual(['compensated', 'failed', 'pending']);
    await h.golden('cancel-running', id);
  });

  it('hands a job to another instance after the lease expires; the point of no return is reconciled, not rerun', async () => {
    const dnsFlips: string[] = [];
    let releaseCrashedStep: () => void = () => {};
    const h = await harness([
      {
        kind: 'test.takeover',
        steps: [
          { name: 'verify', run: async () => 'equal' },
          {
            name: 'flip-dns',
            pointOfNoReturn: true,
            reconcile: async ctx => {
              await ctx.log('Checking the DNS record');
              return dnsFlips.length ? { done: true, output: { record: 'A 10.0.0.2' } } : { done: false };
            },
            run: async ctx => {
              dnsFlips.push(ctx.job.id);
              // The first worker "crashes" here: it never returns and never heartbeats again.
              if (dnsFlips.length === 1) await new Promise<void>(resolve => (releaseCrashedStep = resolve));
              return { record: 'A 10.0.0.2' };
            },
          },
          { name: 'observe', run: async () => 'healthy' },
        ],
      },
    ]);
    // Engine A's timers never fire (a dead process does not heartbeat); its notion of "now" is shared.
    const deadClock: Clock = { now: () => h.clock.now(), setTimeout: () => () => {} };
    const engineA = h.newEngine('engine-a', deadClock);
    const engineB = h.newEngine('engine-b');
    const id = await create(h, 'test.takeover');

    void engineA.tick();
    await settle(20);
    expect(await h.store.getJob(id)).toMatchObject({ currentStep: 'flip-dns', leaseOwner: 'engine-a' });

    await h.clock.advance(LEASE_MS - 1);
    await engineB.runUntilIdle();
    expect((await h.store.getJob(id))?.leaseOwner).toBe('engine-a');

    await h.clock.advance(2);
    await engineB.runUntilIdle();
    expect((await h.store.getJob(id))?.status).toBe('succeeded');
    expect(dnsFlips).toEqual([id]);

    // The old worker wakes up: its writes are fenced off and nothing changes.
    const before = await h.store.listEvents(id, 0);
    releaseCrashedStep();
    await engineA.runUntilIdle();
    expect(await h.store.listEvents(id, 0)).toEqual(before);
    expect((await h.store.getSteps(id))[1]).toMatchObject({ status: 'succeeded', attempt: 1 });
    await h.golden('takeover-point-of-no-return', id);
  });

  it('reruns an interrupted point-of-no-return step only when reconcile finds no effect', async () => {
    let runs = 0;
    const h = await harness([
      {
        kind: 'test.promote',
        steps: [
          {
            name: 'promote',
            pointOfNoReturn: true,
            reconcile: async () => ({ done: false }),
            run: async () => {
              runs += 1;
              if (runs === 1) throw new Error('connection lost before pg_promote() was sent');
              return 'promoted';
            },
          },
        ],
        retry: { maxAttempts: 2, initialDelayMs: 1_000, maxDelayMs: 1_000 },
      },
    ]);
    const id = await create(h, 'test.promote');
    await h.engine.runUntilIdle();
    await h.clock.advance(1_000);
    await h.engine.runUntilIdle();
    expect((await h.store.getJob(id))?.status).toBe('succeeded');
    expect(runs).toBe(2);
    await h.golden('point-of-no-return-reconciled-not-done', id);
  });

  it('never reruns an interrupted non-idempotent step without reconcile', async () => {
    let runs = 0;
    const h = await harness([
      {
        kind: 'test.unsafe',
        steps: [
          {
            name: 'delete-source',
            idempotent: false,
            run: async () => {
              runs += 1;
              throw new Error('timeout after sending the delete');
            },
          },
        ],
      },
    ]);
    const id = await create(h, 'test.unsafe');
    await h.engine.runUntilIdle();
    await h.clock.advance(60_000);
    await h.engine.runUntilIdle();
    expect(runs).toBe(1);
    expect(await h.service.get(id)).toMatchObject({ status: 'failed', error: { name: 'PermanentJobError' } });
    await h.golden('non-idempotent-without-reconcile', id);
  });

  it('hands running jobs back at shutdown, so another instance continues without waiting for the lease', async () => {
    const reasons: unknown[] = [];
    let runs = 0;
    const h = await harness([
      {
        kind: 'test.long',
        steps: [
          {
            name: 'transfer',
            run: async ctx => {
              runs += 1;
              if (runs > 1) return 'done';
              ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
              await ctx.sleep(3_600_000);
              return 'never';
            },
          },
        ],
      },
    ]);
    const id = await create(h, 'test.long');
    void h.engine.tick();
    await settle(20);
    await h.clock.advance(1_000);
    await h.engine.stop();
    expect(reasons).toEqual([expect.any(EngineStoppingError)]);
    expect(await h.store.getJob(id)).toMatchObject({ status: 'queued', leaseOwner: undefined });

    await h.newEngine('engine-b').runUntilIdle();
    expect((await h.store.getJob(id))?.status).toBe('succeeded');
    await h.golden('shutdown-handover', id);
  });

  it('refuses kinds with a point of no return but no reconcile', () => {
    expect(
      () =>
        new JobKindRegistry([
          { kind: 'test.bad', steps: [{ name: 'flip', pointOfNoReturn: true, run: async () => undefined }] },
        ]),
    ).toThrow(/needs reconcile/);
  });
});
