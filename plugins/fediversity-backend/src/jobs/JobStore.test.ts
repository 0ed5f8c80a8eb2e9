import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import { LeaseLostError } from './errors';
import { JobStore, NewJob } from './JobStore';
import { DATABASE_IDS, JobTestDatabases } from './__testUtils__/databases';

jest.setTimeout(60_000);

const databases = new JobTestDatabases();
afterAll(() => databases.stop());

const LEASE_MS = 60_000;
const T0 = 1_000_000;

function newJob(id: string, overrides: Partial<NewJob> = {}): NewJob {
  return {
    id,
    kind: 'test.kind',
    entityRef: 'component:default/app',
    params: { size: 1 },
    steps: [{ name: 'one' }, { name: 'two' }],
    createdBy: 'user:default/alice',
    ...overrides,
  };
}

const entityLock = (job: { entityRef: string }) => [`entity:${job.entityRef}`];

describe.each(DATABASE_IDS)('JobStore on %s', databaseId => {
  let knex: Knex;
  let store: JobStore;

  beforeEach(async () => {
    knex = await databases.init(databaseId);
    store = new JobStore(knex);
  });

  const claim = (owner: string, now: number) =>
    store.claimNext({ owner, now, leaseMs: LEASE_MS, lockKeysOf: entityLock });

  it('creates a job with its steps once per idempotency key', async () => {
    const first = await store.createJob(newJob('job-1', { idempotencyKey: 'k1' }), T0);
    const again = await store.createJob(newJob('job-2', { idempotencyKey: 'k1' }), T0 + 1);
    expect(first.created).toBe(true);
    expect(again).toEqual({ job: first.job, created: false });
    expect(first.job).toMatchObject({ id: 'job-1', status: 'queued', leaseToken: 0, params: { size: 1 } });
    expect((await store.getSteps('job-1')).map(step => [step.name, step.status])).toEqual([
      ['one', 'pending'],
      ['two', 'pending'],
    ]);
    expect(await store.getJob('job-2')).toBeUndefined();
  });

  it('claims with a new fencing token and rejects the writes of a lease that was taken over', async () => {
    await store.createJob(newJob('job-1'), T0);
    const claimedByA = await claim('a', T0);
    expect(claimedByA).toMatchObject({ status: 'running', leaseOwner: 'a', leaseToken: 1, attempt: 1 });
    expect(await claim('b', T0 + 1)).toBeUndefined();

    const leaseA = { jobId: 'job-1', token: claimedByA!.leaseToken, owner: 'a' };
    await store.startStep(leaseA, T0 + 2, { name: 'one', pointOfNoReturn: false }, { message: 'one' });

    // A stops heartbeating; after the lease expires B takes over with a higher token.
    const claimedByB = await claim('b', T0 + LEASE_MS + 1);
    expect(claimedByB).toMatchObject({ leaseOwner: 'b', leaseToken: 2, attempt: 2 });

    const eventsBefore = await store.listEvents('job-1', 0);
    await expect(store.appendEvent(leaseA, T0 + LEASE_MS + 2, { message: 'late' })).rejects.toThrow(LeaseLostError);
    await expect(store.heartbeat(leaseA, T0 + LEASE_MS + 2, LEASE_MS)).rejects.toThrow(LeaseLostError);
    await expect(
      store.completeStep(leaseA, T0 + LEASE_MS + 2, 'one', { x: 1 }, [{ message: 'done' }]),
    ).rejects.toThrow(LeaseLostError);
    await expect(
      store.finishJob(leaseA, T0 + LEASE_MS + 2, 'succeeded', undefined, { message: 'done' }),
    ).rejects.toThrow(LeaseLostError);
    expect(await store.listEvents('job-1', 0)).toEqual(eventsBefore);
    expect((await store.getSteps('job-1'))[0]).toMatchObject({ status: 'running', startedLeaseToken: 1 });
    expect(eventsBefore.map(event => event.message)).toEqual([
      'Job created by user:default/alice',
      'Claimed by a (lease 1)',
      'one',
      'Lease of a expired; taken over by b (lease 2)',
    ]);
    expect(eventsBefore.map(event => event.seq)).toEqual([1, 2, 3, 4]);
  });

  it('extends a lease with heartbeats and reports a cancellation request', async () => {
    await store.createJob(newJob('job-1'), T0);
    const job = await claim('a', T0);
    const lease = { jobId: job!.id, token: job!.leaseToken, owner: 'a' };
    await store.startStep(lease, T0, { name: 'one', pointOfNoReturn: false }, { message: 'start' });
    expect(await store.heartbeat(lease, T0 + 50_000, LEASE_MS)).toEqual({ cancelRequested: false });
    expect(await claim('b', T0 + LEASE_MS + 1)).toBeUndefined();
    expect(await store.requestCancel('job-1', 'user:default/bob', 'oops', T0 + 60_000)).toBe('requested');
    expect(await store.heartbeat(lease, T0 + 61_000, LEASE_MS)).toEqual({ cancelRequested: true });
  });

  it('holds resource locks from the first claim until the job ends', async () => {
    await store.createJob(newJob('job-1'), T0);
    await store.createJob(newJob('job-2'), T0 + 1);
    await store.createJob(newJob('job-3', { entityRef: 'component:default/other' }), T0 + 2);

    const first = await claim('a', T0 + 10);
    expect(first?.id).toBe('job-1');
    // job-2 wants the same entity: skipped, job-3 is claimed instead.
    expect((await claim('a', T0 + 11))?.id).toBe('job-3');
    expect(await claim('a', T0 + 12)).toBeUndefined();
    expect((await store.getJob('job-2'))?.status).toBe('queued');

    const lease = { jobId: 'job-1', token: first!.leaseToken, owner: 'a' };
    // Requeued for a retry, the job keeps its lock.
    await store.failStep(lease, T0 + 20, 'one', { name: 'Error', message: 'x' }, { message: 'failed' }, {
      retryAt: T0 + 1_000,
    });
    expect(await claim('b', T0 + 30)).toBeUndefined();
    const again = await claim('b', T0 + 1_000);
    expect(again).toMatchObject({ id: 'job-1', leaseToken: 3 });
    await store.finishJob({ jobId: 'job-1', token: 3, owner: 'b' }, T0 + 1_001, 'succeeded', undefined, {
      message: 'done',
    });
    expect((await claim('b', T0 + 1_002))?.id).toBe('job-2');
  });

  it('cancels a job that never ran at once, and refuses after the point of no return', async () => {
    await store.createJob(newJob('job-1'), T0);
    expect(await store.requestCancel('job-1', 'user:default/alice', undefined, T0 + 1)).toBe('cancelled');
    expect(await store.getJob('job-1')).toMatchObject({ status: 'cancelled', finishedAt: T0 + 1 });
    await expect(store.requestCancel('job-1', 'user:default/alice', undefined, T0 + 2)).rejects.toThrow(
      ConflictError,
    );

    await store.createJob(newJob('job-2'), T0);
    const job = await claim('a', T0 + 3);
    const lease = { jobId: 'job-2', token: job!.leaseToken, owner: 'a' };
    expect(await store.startStep(lease, T0 + 4, { name: 'one', pointOfNoReturn: true }, { message: 'go' })).toBe(
      'started',
    );
    await expect(store.requestCancel('job-2', 'user:default/alice', undefined, T0 + 5)).rejects.toThrow(
      /point of no return/,
    );
  });

  it('does not start a point-of-no-return step once cancellation was requested', async () => {
    await store.createJob(newJob('job-1'), T0);
    const job = await claim('a', T0);
    const lease = { jobId: 'job-1', token: job!.leaseToken, owner: 'a' };
    await store.startStep(lease, T0 + 1, { name: 'one', pointOfNoReturn: false }, { message: 'one' });
    expect(await store.requestCancel('job-1', 'user:default/alice', undefined, T0 + 2)).toBe('requested');
    expect(await store.startStep(lease, T0 + 3, { name: 'two', pointOfNoReturn: true }, { message: 'two' })).toBe(
      'cancel_requested',
    );
    expect((await store.getJob('job-1'))?.pointOfNoReturnAt).toBeUndefined();
    expect((await store.getSteps('job-1'))[1].status).toBe('pending');
  });

  it('records a step’s success (its closing events first) with the next step’s start in one commit, or neither', async () => {
    await store.createJob(newJob('job-1'), T0);
    const job = await claim('a', T0);
    const lease = { jobId: 'job-1', token: job!.leaseToken, owner: 'a' };
    await store.startStep(lease, T0 + 1, { name: 'one', pointOfNoReturn: false }, { message: 'one started' });
    const completed = {
      name: 'one',
      output: { n: 1 },
      at: T0 + 2,
      events: [
        { step: 'one', message: 'one found it equal' },
        { step: 'one', message: 'one succeeded' },
      ],
    };
    // Refused (a cancellation came before a point of no return): the completion is not written either.
    await store.requestCancel('job-1', 'user:default/alice', undefined, T0 + 2);
    expect(await store.startStep(lease, T0 + 3, { name: 'two', pointOfNoReturn: true }, { message: 'two started' }, completed)).toBe(
      'cancel_requested',
    );
    expect((await store.getSteps('job-1')).map(step => step.status)).toEqual(['running', 'pending']);
    // Started: both, the success first, at its own time.
    expect(await store.startStep(lease, T0 + 3, { name: 'two', pointOfNoReturn: false }, { message: 'two started' }, completed)).toBe('started');
    const [one, two] = await store.getSteps('job-1');
    expect(one).toMatchObject({ status: 'succeeded', output: { n: 1 }, finishedAt: T0 + 2 });
    expect(two).toMatchObject({ status: 'running', startedAt: T0 + 3 });
    const events = (await store.listEvents('job-1', 0)).slice(-5).map(event => [event.ts, event.message]);
    expect(events).toEqual([
      [T0 + 1, 'one started'],
      [T0 + 2, 'Cancellation requested by user:default/alice'],
      [T0 + 2, 'one found it equal'],
      [T0 + 2, 'one succeeded'],
      [T0 + 3, 'two started'],
    ]);
  });

  it('parks at an approval gate and records who approved', async () => {
    await store.createJob(newJob('job-1'), T0);
    const job = await claim('a', T0);
    const lease = { jobId: 'job-1', token: job!.leaseToken, owner: 'a' };
    await expect(store.approve('job-1', { by: 'user:default/bob' }, T0 + 1)).rejects.toThrow(ConflictError);
    await store.parkForApproval(lease, T0 + 1, 'one', { message: 'waiting' });
    expect(await store.getJob('job-1')).toMatchObject({ status: 'awaiting_approval', leaseOwner: undefined });
    expect(await claim('b', T0 + 2)).toBeUndefined();
    await expect(store.approve('job-1', { by: 'user:default/bob', step: 'two' }, T0 + 3)).rejects.toThrow(
      /waits for approval of one/,
    );
    await store.approve('job-1', { by: 'user:default/bob', comment: 'go ahead' }, T0 + 4);
    expect((await store.getSteps('job-1'))[0]).toMatchObject({
      status: 'succeeded',
      approvedBy: 'user:default/bob',
      approvedAt: T0 + 4,
      approvalComment: 'go ahead',
    });
    expect((await claim('b', T0 + 5))?.id).toBe('job-1');
  });

  it('retries only failed jobs, with a fresh attempt budget', async () => {
    await store.createJob(newJob('job-1'), T0);
    await expect(store.retry('job-1', 'user:default/alice', T0)).rejects.toThrow(ConflictError);
    const job = await claim('a', T0);
    const lease = { jobId: 'job-1', token: job!.leaseToken, owner: 'a' };
    await store.startStep(lease, T0 + 1, { name: 'one', pointOfNoReturn: false }, { message: 'one' });
    await store.failStep(lease, T0 + 2, 'one', { name: 'Error', message: 'broken' }, { message: 'failed' });
    await store.finishJob(lease, T0 + 3, 'failed', { name: 'Error', message: 'broken' }, { message: 'failed' });
    await store.retry('job-1', 'user:default/alice', T0 + 4);
    expect(await store.getJob('job-1')).toMatchObject({ status: 'queued', error: undefined, nextRunAt: T0 + 4 });
    expect((await store.getSteps('job-1'))[0]).toMatchObject({ status: 'failed', attempt: 0 });
  });

  it('requeues jobs whose lease expired (janitor)', async () => {
    await store.createJob(newJob('job-1'), T0);
    const job = await claim('a', T0);
    expect(await store.requeueExpiredLeases(T0 + LEASE_MS - 1)).toBe(0);
    expect(await store.requeueExpiredLeases(T0 + LEASE_MS + 1)).toBe(1);
    expect(await store.getJob('job-1')).toMatchObject({ status: 'queued', leaseToken: job!.leaseToken + 1 });
    await expect(
      store.appendEvent({ jobId: 'job-1', token: job!.leaseToken, owner: 'a' }, T0, { message: 'late' }),
    ).rejects.toThrow(LeaseLostError);
  });

  it('cancels jobs parked past their approval deadline, once, and refuses a late approval (janitor)', async () => {
    for (const [id, deadline] of [['job-1', T0 + 1_000], ['job-2', T0 + 5_000], ['job-3', undefined]] as const) {
      await store.createJob(newJob(id, { entityRef: `component:default/${id}` }), T0);
      const claimed = await claim('a', T0);
      const lease = { jobId: id, token: claimed!.leaseToken, owner: 'a' };
      await store.parkForApproval(lease, T0, 'one', { message: 'waiting' }, deadline);
    }
    expect((await store.getJob('job-1'))?.approvalDeadlineAt).toBe(T0 + 1_000);

    expect(await store.expireApprovalGates(T0 + 999)).toBe(0);
    expect(await store.expireApprovalGates(T0 + 1_000)).toBe(1);
    expect(await store.expireApprovalGates(T0 + 1_000)).toBe(0);
    expect(await store.getJob('job-1')).toMatchObject({
      status: 'queued',
      cancelRequested: true,
      nextRunAt: T0 + 1_000,
      approvalDeadlineAt: undefined,
    });
    expect((await store.getSteps('job-1'))[0]).toMatchObject({ status: 'failed', error: { name: 'ApprovalExpired' } });
    await expect(store.approve('job-2', { by: 'user:default/bob' }, T0 + 5_000)).rejects.toThrow(ConflictError);
    await store.approve('job-3', { by: 'user:default/bob' }, T0 + 86_400_000);
    expect(await store.expireApprovalGates(T0 + 86_400_000)).toBe(1);
    expect((await store.getJob('job-2'))?.status).toBe('queued');
    expect((await store.getJob('job-3'))?.status).toBe('queued');
    expect((await store.getJob('job-3'))?.cancelRequested).toBe(false);
  });

  it('lists jobs by entity, status and kind, and the entities that have jobs', async () => {
    await store.createJob(newJob('job-1'), T0);
    await store.createJob(newJob('job-2', { entityRef: 'component:default/b', kind: 'other.kind' }), T0 + 1);
    await store.requestCancel('job-2', 'user:default/alice', undefined, T0 + 2);
    expect((await store.listJobs({})).map(job => job.id)).toEqual(['job-2', 'job-1']);
    expect((await store.listJobs({ entityRefs: ['component:default/app'] })).map(job => job.id)).toEqual([
      'job-1',
    ]);
    expect((await store.listJobs({ status: 'cancelled' })).map(job => job.id)).toEqual(['job-2']);
    expect((await store.listJobs({ kind: 'test.kind' })).map(job => job.id)).toEqual(['job-1']);
    expect((await store.listJobs({ entityRefs: [] })).length).toBe(0);
    expect((await store.listEntityRefs({})).sort()).toEqual(['component:default/app', 'component:default/b']);
    expect(await store.stepCounts(['job-1'])).toEqual(new Map([['job-1', { done: 0, total: 2 }]]));
  });
});
