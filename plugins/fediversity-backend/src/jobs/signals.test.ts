import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { SignalPayload, SignalsService, signalsServiceRef } from '@backstage/plugin-signals-node';
import { JOB_SIGNAL_CHANNEL } from '@fediversity/plugin-fediversity-common';
import request from 'supertest';
import { fediversityPlugin } from '../plugin';
import { closingDatabaseServiceFactory } from '../testUtils';
import { JobEngine } from './JobEngine';
import { JobService } from './JobService';
import { JobStore } from './JobStore';
import { Redactor } from './redaction';
import { JobKindRegistry } from './registry';
import { catalogEntityOwners, EntityOwnersLookup, JobSignalPublisher } from './signals';
import { JobTestDatabases } from './__testUtils__/databases';
import { FakeClock } from './__testUtils__/FakeClock';
import { JobKind } from './types';

jest.setTimeout(60_000);

const T0 = 1_000_000;
const ENTITY = 'component:default/mastodon';
const OWNERS = ['group:default/platform'];
const ALICE = 'user:default/alice';
/** Values that live in params, logs, fields and outputs; none may appear in a signal. */
const PARAM_VALUE = 'param-value-target-pve-b';
const LOGGED_VALUE = 'logged-value-rsync-line';
const OUTPUT_VALUE = 'output-value-snapshot-7';

const testKinds: JobKind<any>[] = [
  {
    kind: 'test.gate',
    steps: [
      {
        name: 'prepare',
        run: async ctx => {
          await ctx.log(`prepared ${LOGGED_VALUE}`, { detail: LOGGED_VALUE });
          return { snapshot: OUTPUT_VALUE };
        },
      },
      { name: 'approve', approvalGate: true },
      { name: 'apply', run: async ctx => ctx.log('applied') },
    ],
  },
];

class RecordingSignals implements SignalsService {
  readonly published: SignalPayload<any>[] = [];
  async publish(signal: SignalPayload<any>): Promise<void> {
    this.published.push(signal);
  }
}

const databases = new JobTestDatabases();
afterAll(() => databases.stop());

/** The store tells the publisher after the commit; give those callbacks their turn. */
const afterCommits = () => new Promise(resolve => setImmediate(resolve));

async function harness(owners: EntityOwnersLookup = async () => OWNERS) {
  const knex = await databases.init('SQLITE_3');
  const signals = new RecordingSignals();
  const publisher = new JobSignalPublisher({
    jobs: new JobStore(knex),
    signals,
    owners,
    logger: mockServices.logger.mock(),
    // Long: the tests flush explicitly, so each flush shows what one quiet moment publishes.
    coalesceMs: 60_000,
  });
  const store = new JobStore(knex, publisher.jobChanged);
  const clock = new FakeClock(T0);
  const kinds = new JobKindRegistry(testKinds);
  const redactor = new Redactor();
  const service = new JobService({ store, kinds, clock, redactor });
  const engine = new JobEngine({
    store,
    kinds,
    logger: mockServices.logger.mock(),
    clock,
    redactor,
    owner: 'engine-a',
    concurrency: 1,
    leaseMs: 60_000,
    heartbeatMs: 10_000,
    random: () => 0.5,
  });
  return {
    store,
    service,
    engine,
    publisher,
    signals,
    /** What was published for the changes made so far. */
    async published() {
      await afterCommits();
      await publisher.flush();
      return signals.published.splice(0);
    },
  };
}

describe('JobSignalPublisher', () => {
  it("signals each status change to the entity's owners, with ids and state only", async () => {
    const h = await harness();
    const { job } = await h.service.create({ kind: 'test.gate', entityRef: ENTITY, params: { target: PARAM_VALUE } }, ALICE);
    const all: SignalPayload<any>[] = [];
    const step = async () => {
      const published = await h.published();
      all.push(...published);
      return published;
    };

    expect(await step()).toEqual([
      {
        recipients: { type: 'user', entityRef: OWNERS },
        channel: JOB_SIGNAL_CHANNEL,
        message: { jobId: job.id, entityRef: ENTITY, status: 'queued', lastSeq: 1 },
      },
    ]);

    await h.engine.runUntilIdle();
    const parked = await step();
    expect(parked.map(s => s.message)).toEqual([
      { jobId: job.id, entityRef: ENTITY, status: 'awaiting_approval', lastSeq: await h.store.lastEventSeq(job.id) },
    ]);

    await h.service.approve(job.id, ALICE, {});
    expect((await step()).map(s => s.message.status)).toEqual(['queued']);

    await h.engine.runUntilIdle();
    const finished = await step();
    const events = await h.store.listEvents(job.id, 0, 1000);
    expect(finished.map(s => s.message)).toEqual([
      { jobId: job.id, entityRef: ENTITY, status: 'succeeded', lastSeq: events[events.length - 1].seq },
    ]);

    // Nothing but ids and state: no params, no log lines or their fields, no step outputs, no principals.
    for (const signal of all) expect(Object.keys(signal.message).sort()).toEqual(['entityRef', 'jobId', 'lastSeq', 'status']);
    const text = JSON.stringify(all);
    for (const value of [PARAM_VALUE, LOGGED_VALUE, OUTPUT_VALUE, ALICE, 'engine-a']) expect(text).not.toContain(value);
    expect(events.some(e => e.message.includes(LOGGED_VALUE))).toBe(true);
  });

  it('makes one signal of a burst of events, and signals progress, which appends no event', async () => {
    const h = await harness();
    const { job } = await h.store.createJob(
      { id: 'job-1', kind: 'test.gate', entityRef: ENTITY, params: {}, steps: [{ name: 'prepare' }], createdBy: ALICE },
      T0,
    );
    await h.published();
    const claimed = await h.store.claimNext({ owner: 'a', now: T0, leaseMs: 60_000, lockKeysOf: () => [] });
    const lease = { jobId: job.id, token: claimed!.leaseToken, owner: 'a' };
    for (let line = 0; line < 20; line++) await h.store.appendEvent(lease, T0, { message: `line ${line}` });

    expect((await h.published()).map(s => s.message)).toEqual([
      { jobId: 'job-1', entityRef: ENTITY, status: 'running', lastSeq: 22 },
    ]);

    await h.store.setProgress(lease, T0 + 1, { step: 'prepare', done: 1, total: 2 });
    expect((await h.published()).map(s => s.message)).toEqual([
      { jobId: 'job-1', entityRef: ENTITY, status: 'running', lastSeq: 22 },
    ]);

    // A write refused for a lost lease commits nothing, so it tells no one.
    await expect(h.store.appendEvent({ ...lease, token: 99 }, T0, { message: 'stale' })).rejects.toThrow();
    expect(await h.published()).toEqual([]);
  });

  it('broadcasts the job id alone when the owners are unknown or cannot be looked up', async () => {
    for (const owners of [async () => undefined, async () => [], () => Promise.reject(new Error('catalog down'))]) {
      const h = await harness(owners);
      const { job } = await h.service.create({ kind: 'test.gate', entityRef: ENTITY, params: { target: PARAM_VALUE } }, ALICE);
      expect(await h.published()).toEqual([
        { recipients: { type: 'broadcast' }, channel: JOB_SIGNAL_CHANNEL, message: { jobId: job.id } },
      ]);
    }
  });

  it('publishes on its own after the coalescing window, and nothing once stopped', async () => {
    const knex = await databases.init('SQLITE_3');
    const signals = new RecordingSignals();
    const publisher = new JobSignalPublisher({
      jobs: new JobStore(knex),
      signals,
      owners: async () => OWNERS,
      logger: mockServices.logger.mock(),
      coalesceMs: 20,
    });
    const service = new JobService({
      store: new JobStore(knex, publisher.jobChanged),
      kinds: new JobKindRegistry(testKinds),
      clock: new FakeClock(T0),
      redactor: new Redactor(),
    });
    await service.create({ kind: 'test.gate', entityRef: ENTITY, params: {} }, ALICE);
    await waitUntil(() => signals.published.length === 1);

    publisher.stop();
    await service.create({ kind: 'test.gate', entityRef: ENTITY, params: {} }, ALICE);
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(signals.published).toHaveLength(1);
  });
});

describe('catalogEntityOwners', () => {
  const entity = (name: string, owners: string[]): Entity => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default' },
    spec: { type: 'service', owner: owners[0] },
    relations: owners.map(targetRef => ({ type: 'ownedBy', targetRef })),
  });

  it("returns the entity's ownedBy targets, remembered for a while; unknown owners are not remembered", async () => {
    const catalog = catalogServiceMock({ entities: [entity('mastodon', OWNERS), entity('orphan', [])] });
    const lookups = jest.spyOn(catalog, 'getEntityByRef');
    let now = T0;
    const owners = catalogEntityOwners({ catalog, auth: mockServices.auth(), ttlMs: 30_000, now: () => now });

    expect(await owners(ENTITY)).toEqual(OWNERS);
    expect(await owners('component:default/orphan')).toBeUndefined();
    expect(await owners('component:default/not-yet-provisioned')).toBeUndefined();
    expect(lookups).toHaveBeenCalledTimes(3);

    expect(await owners(ENTITY)).toEqual(OWNERS);
    expect(await owners('component:default/not-yet-provisioned')).toBeUndefined();
    expect(lookups).toHaveBeenCalledTimes(4);

    now += 30_000;
    expect(await owners(ENTITY)).toEqual(OWNERS);
    expect(lookups).toHaveBeenCalledTimes(5);
  });
});

describe('the plugin', () => {
  it("signals the owners of a job's entity when a job is created through the API", async () => {
    const signals = new RecordingSignals();
    const backend = await startTestBackend({
      features: [
        fediversityPlugin,
        closingDatabaseServiceFactory,
        createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => signals }),
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: { name: 'mastodon', namespace: 'default' },
              spec: { type: 'service', owner: OWNERS[0] },
              relations: [{ type: 'ownedBy', targetRef: OWNERS[0] }],
            },
          ],
        }),
        mockServices.rootConfig.factory({
          // No worker: the job stays queued, so exactly one change is signalled.
          data: { fediversity: { allowInMemoryDatabase: true, jobs: { worker: false } } },
        }),
      ],
    });
    try {
      const res = await request(backend.server)
        .post('/api/fediversity/jobs')
        .set('Authorization', mockCredentials.user.header(ALICE))
        .send({ kind: 'demo.echo', entityRef: ENTITY, params: { message: PARAM_VALUE } });
      expect(res.status).toBe(201);
      await waitUntil(() => signals.published.length > 0);
      expect(signals.published).toEqual([
        {
          recipients: { type: 'user', entityRef: OWNERS },
          channel: JOB_SIGNAL_CHANNEL,
          message: { jobId: res.body.id, entityRef: ENTITY, status: 'queued', lastSeq: 1 },
        },
      ]);
    } finally {
      await backend.stop();
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
