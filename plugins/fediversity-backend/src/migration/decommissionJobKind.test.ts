import { mockServices } from '@backstage/backend-test-utils';
import { PveCluster, StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Clock } from '../jobs/clock';
import { JobEngine } from '../jobs/JobEngine';
import { JobService } from '../jobs/JobService';
import { JobStore } from '../jobs/JobStore';
import { Redactor } from '../jobs/redaction';
import { JobKindRegistry } from '../jobs/registry';
import { JobTestDatabases } from '../jobs/__testUtils__/databases';
import { FakeClock, settle } from '../jobs/__testUtils__/FakeClock';
import { expectGoldenLog, renderEventLog } from '../jobs/__testUtils__/goldenLog';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { checkDecommissionable, DECOMMISSION_JOB_KIND, decommissionJobKind } from './decommissionJobKind';
import { ConnectedHost, HostConnector } from './hosts';
import { MIGRATION_JOB_KIND } from './migrationJobKind';
import { slotName } from './postgres';

/**
 * `instance.decommission` against the PVE simulator (real HTTP, real UPID tasks), with the source's PostgreSQL
 * behind a fake SSH connector that records every argv. Crashes are a worker that never comes back after an
 * external side effect; another worker takes the job over once the lease expires.
 */
jest.setTimeout(60_000);

const T0 = 1_000_000;
const LEASE_MS = 60_000;
const ENTITY = 'component:default/social-instance';
const ALICE = 'user:default/alice';
const SOURCE = { cluster: 'lab', node: 'pve-a', vmid: 105 };

const databases = new JobTestDatabases();
let simulator: PveSimulator | undefined;
let cluster: PveCluster;
let closeCluster: (() => void) | undefined;

/** A fresh simulator per test: the source guest 105 running on pve-a, the migration's target 120 on pve-b. */
async function startSimulator(speed: number) {
  simulator = await startPveSimulator({
    authFailureDelayMs: 0,
    speed,
    topology: {
      cluster: 'lab',
      storages: [{ id: 'local-zfs', type: 'zfspool', content: ['rootdir', 'images'], total: '100G', used: '10G' }],
      nodes: [{ name: 'pve-a' }, { name: 'pve-b' }],
      guests: [
        { vmid: 105, node: 'pve-a', hostname: 'social', status: 'running', rootfs: 'local-zfs:8' },
        { vmid: 120, node: 'pve-b', hostname: 'social', status: 'running', rootfs: 'local-zfs:8' },
      ],
    },
  });
  const sim = simulatorCluster(simulator, 'lab');
  cluster = sim.cluster;
  closeCluster = sim.close;
}

afterEach(async () => {
  closeCluster?.();
  await simulator?.close();
  simulator = undefined;
});

afterAll(() => databases.stop());

const migrationParams = {
  app: {
    name: 'social',
    dataClasses: [
      { name: 'database', kind: 'database', engine: 'postgresql', replication: 'postgresql-streaming', quiesce: [['systemctl', 'stop', 'app.service']], unquiesce: [['systemctl', 'start', 'app.service']] },
    ],
  },
  source: {
    host: 'source.example',
    username: 'root',
    hostKey: 'SHA256:c291cmNlLWtleS1maW5nZXJwcmludC1mb3ItdGVzdHM',
    hostPublicKey: 'ssh-ed25519 AAAAsource',
    privateKey: { secretRef: 'source-key' },
    postgres: { dataDir: '/var/lib/postgresql/15/main', port: 5432, socketDir: '/run/postgresql' },
  },
  target: {
    host: 'target.example',
    username: 'root',
    hostKey: 'SHA256:dGFyZ2V0LWtleS1maW5nZXJwcmludC1mb3ItdGVzdHM',
    hostPublicKey: 'ssh-ed25519 AAAAtarget',
    privateKey: { secretRef: 'target-key' },
  },
  peer: { identityFile: '/root/.ssh/migration_ed25519' },
  postgresDatabases: ['social'],
  sourceGuest: SOURCE,
  provision: { cluster: 'lab', node: 'pve-b', ostemplate: 'local:vztmpl/nixos.tar.xz', storage: 'local-zfs', diskGb: 8, vmid: 120 },
};

/** The completed migration each harness creates; the fake source's leftover slot is named after it. */
let migrationJobId = '';

/** The source's PostgreSQL as seen over SSH: running, with the migration's slot and publication left over. */
function fakeSource(commands: string[][]): HostConnector {
  return async role => ({
    role,
    async run(argv) {
      commands.push([...argv]);
      const sql = argv[argv.length - 1];
      if (argv.some(arg => arg.endsWith('/pg_ctl'))) return { exitCode: 0, stdout: 'server is running', stderr: '' };
      if (sql.includes('pg_drop_replication_slot')) return { exitCode: 0, stdout: `${slotName(migrationJobId)}\n`, stderr: '' };
      if (sql.includes('FROM pg_publication')) return { exitCode: 0, stdout: '1\n', stderr: '' };
      return { exitCode: 0, stdout: '\n', stderr: '' };
    },
    async close() {},
  }) satisfies ConnectedHost;
}

interface Harness {
  knex: Knex;
  store: JobStore;
  clock: FakeClock;
  commands: string[][];
  service: JobService;
  engine(owner: string, clusters?: PveCluster, clock?: Clock): JobEngine;
  create(): Promise<string>;
}

async function harness(options: { simulatorSpeed?: number } = {}): Promise<Harness> {
  await startSimulator(options.simulatorSpeed ?? 20);
  const knex = await databases.init('SQLITE_3');
  const store = new JobStore(knex);
  const clock = new FakeClock(T0);
  const commands: string[][] = [];
  const redactor = new Redactor();
  const registryFor = (clusters: PveCluster) =>
    new JobKindRegistry([
      decommissionJobKind({ jobs: store, connect: fakeSource(commands), clusters: new StaticPveClusters([clusters]) }),
    ]);
  const registry = registryFor(cluster);
  // A migration of the instance that completed: the target serves, the source guest 105 is kept.
  const { job: migration } = await store.createJob(
    { id: randomUUID(), kind: MIGRATION_JOB_KIND, entityRef: ENTITY, params: migrationParams, steps: [{ name: 'observe' }], createdBy: ALICE },
    T0,
  );
  await knex('fediversity_jobs').where({ id: migration.id }).update({ status: 'succeeded', finished_at: T0 });
  migrationJobId = migration.id;
  const service = new JobService({ store, kinds: registry, clock, redactor });
  return {
    knex,
    store,
    clock,
    commands,
    service,
    engine: (owner, clusters = cluster, engineClock = clock) =>
      new JobEngine({
        store,
        kinds: clusters === cluster ? registry : registryFor(clusters),
        logger: mockServices.logger.mock(),
        clock: engineClock,
        redactor,
        owner,
        concurrency: 1,
        leaseMs: LEASE_MS,
        heartbeatMs: 10_000,
        random: () => 0.5,
      }),
    async create() {
      const { job } = await service.create(
        { kind: DECOMMISSION_JOB_KIND, entityRef: ENTITY, params: { migrationJobId, sourceGuest: SOURCE } },
        ALICE,
      );
      return job.id;
    },
  };
}

async function tasksOf(type: string): Promise<number> {
  const tasks = await cluster.client.listTasks(SOURCE.node, { vmid: SOURCE.vmid, typefilter: type, source: 'all', limit: 100 });
  return tasks.length;
}

async function sourceGuest() {
  return cluster.client.getGuestStatus({ node: SOURCE.node, vmid: SOURCE.vmid, type: 'lxc' }).catch(() => undefined);
}

async function waitFor(condition: () => Promise<boolean>, what = 'the condition') {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}

/** Event logs without the UPIDs (they carry the simulator's wall-clock times). */
function stableLog(log: string) {
  return log
    .replace(/UPID:[^"\s]+/g, 'UPID:…')
    .replaceAll(migrationJobId, '<migration>')
    .replaceAll(slotName(migrationJobId), '<slot>');
}

/** The cluster with one client method that performs its request, then never returns: the worker died there. */
function dyingAfter(method: 'stopGuest' | 'deleteGuest'): PveCluster {
  const client = new Proxy(cluster.client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method) return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        await (value as (...a: unknown[]) => Promise<string>).apply(target, args);
        return new Promise<never>(() => {});
      };
    },
  });
  return { ...cluster, client };
}

describe('checkDecommissionable', () => {
  it('reads a migration whose target was bound after provisioning (the job holds no target address)', () => {
    const params = { ...migrationParams, target: { bindAfterProvision: true, username: 'root', privateKey: { secretRef: 'guest-access.lab' } } };
    const migration = { id: 'm-1', kind: MIGRATION_JOB_KIND, entityRef: ENTITY, status: 'succeeded', params } as any;
    const verdict = checkDecommissionable(migration, { entityRef: ENTITY, sourceGuest: SOURCE });
    expect(verdict).toMatchObject({ ok: true, params: { sourceGuest: SOURCE, source: { host: 'source.example' } } });
  });
});

describe('instance.decommission', () => {
  it('shows what it will destroy, waits for approval, drops the slot and publication, stops and destroys the source', async () => {
    const h = await harness();
    const id = await h.create();
    await h.engine('engine-a').runUntilIdle();
    expect((await h.service.get(id)).status).toBe('awaiting_approval');
    expect((await h.store.getSteps(id))[0].output).toMatchObject({
      guest: { ...SOURCE, name: 'social', status: 'running' },
      sourceHost: 'source.example:22',
      replication: { slots: [slotName(migrationJobId), `${slotName(migrationJobId)}_social`], publication: `${slotName(migrationJobId)}_pub` },
    });
    expect(h.commands).toEqual([]);
    expect((await sourceGuest())?.status).toBe('running');

    await h.clock.advance(60_000);
    await h.service.approve(id, ALICE, { comment: 'target healthy for a week' });
    await h.engine('engine-a').runUntilIdle();

    const job = await h.service.get(id);
    expect(job.status).toBe('succeeded');
    expect(await sourceGuest()).toBeUndefined();
    expect(await tasksOf('vzstop')).toBe(1);
    expect(await tasksOf('vzdestroy')).toBe(1);
    // Every remote command is an argv run as the postgres user; names are the allow-listed slot names.
    expect(h.commands.map(argv => argv.slice(0, 4))).toEqual([
      ['runuser', '-u', 'postgres', '--'],
      ['runuser', '-u', 'postgres', '--'],
      ['runuser', '-u', 'postgres', '--'],
      ['runuser', '-u', 'postgres', '--'],
      ['runuser', '-u', 'postgres', '--'],
    ]);
    expect(h.commands[4]).toEqual([
      'runuser', '-u', 'postgres', '--', 'env', '-C', '/', '/usr/lib/postgresql/15/bin/psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
      '-h', '/run/postgresql', '-p', '5432', '-d', 'social', '-c', `DROP PUBLICATION IF EXISTS ${slotName(migrationJobId)}_pub`,
    ]);
    expect((await h.store.getSteps(id)).find(step => step.name === 'record')?.output).toMatchObject({
      migrationJobId,
      destroyed: SOURCE,
      replication: { droppedSlots: [slotName(migrationJobId)], droppedPublications: [`social.${slotName(migrationJobId)}_pub`] },
    });
    expectGoldenLog(
      join(__dirname, '__golden__', 'decommission-happy-path.log'),
      stableLog(renderEventLog(await h.store.listEvents(id, 0, 10_000), T0)),
    );
  });

  it.each(['stopGuest', 'deleteGuest'] as const)(
    'replays after a worker died right after %s without starting a second Proxmox task',
    async method => {
      // Tasks at their real duration, so the replay finds the task still running.
      const h = await harness({ simulatorSpeed: 1 });
      const id = await h.create();
      await h.engine('engine-a').runUntilIdle();
      await h.service.approve(id, ALICE, {});

      // Worker A sends the request and dies before it can checkpoint the UPID (its timers never fire either).
      const deadClock: Clock = { now: () => h.clock.now(), setTimeout: () => () => {} };
      void h.engine('engine-a', dyingAfter(method), deadClock).tick();
      const type = method === 'stopGuest' ? 'vzstop' : 'vzdestroy';
      await waitFor(async () => (await tasksOf(type)) === 1, `the ${type} task`);
      await settle(20);

      await h.clock.advance(LEASE_MS + 1);
      await h.engine('engine-b').runUntilIdle();
      expect(await h.service.get(id)).toMatchObject({ status: 'succeeded' });
      expect(await sourceGuest()).toBeUndefined();
      expect(await tasksOf('vzstop')).toBe(1);
      expect(await tasksOf('vzdestroy')).toBe(1);
      // The replay found the dead worker's task still running and waited for it (its UPID is now checkpointed).
      const [task] = await cluster.client.listTasks(SOURCE.node, { vmid: SOURCE.vmid, typefilter: type, source: 'all' });
      const step = (await h.store.getSteps(id)).find(row => row.name === (type === 'vzstop' ? 'stop-source' : 'destroy-source'));
      expect(step?.checkpoint).toEqual({ upid: task.upid });
      // The replication leftovers were dropped once, before the crash, and not again.
      expect(h.commands.filter(argv => argv.join(' ').includes('pg_drop_replication_slot'))).toHaveLength(1);
    },
  );

  it('refuses a migration that has not completed, or a guest it did not record, before touching anything', async () => {
    const h = await harness();
    await h.knex('fediversity_jobs').where({ id: migrationJobId }).update({ status: 'failed' });
    const id = await h.create();
    await h.engine('engine-a').runUntilIdle();
    expect(await h.service.get(id)).toMatchObject({
      status: 'failed',
      error: { message: 'Cannot decommission: the migration has not completed (it is failed)' },
    });

    await h.knex('fediversity_jobs').where({ id: migrationJobId }).update({ status: 'succeeded' });
    const { job } = await h.service.create(
      { kind: DECOMMISSION_JOB_KIND, entityRef: ENTITY, params: { migrationJobId, sourceGuest: { ...SOURCE, vmid: 120 } } },
      ALICE,
    );
    await h.engine('engine-a').runUntilIdle();
    expect(await h.service.get(job.id)).toMatchObject({
      status: 'failed',
      error: { message: 'Cannot decommission: the guest is not the source the migration recorded' },
    });
    expect((await sourceGuest())?.status).toBe('running');
    expect(h.commands).toEqual([]);
  });
});
