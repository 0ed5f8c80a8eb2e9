import { mockServices } from '@backstage/backend-test-utils';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobEngine } from '../jobs/JobEngine';
import { JobStore } from '../jobs/JobStore';
import { JobKindRegistry } from '../jobs/registry';
import { JobTestDatabases } from '../jobs/__testUtils__/databases';
import { FakeClock } from '../jobs/__testUtils__/FakeClock';
import { ReplicationExecutor } from './executor';
import { sshHostConnector } from './hosts';
import { replicationRunJobKind } from './replicationJobKind';
import { ReplicationTicker } from './ReplicationTicker';
import { retryDelayMs, ScheduleStore } from './ScheduleStore';
import { startTestSshHosts, TestSshHosts } from './__testUtils__/sshHosts';
import { treeHash } from './__testUtils__/treeHash';

jest.setTimeout(180_000);

const T0 = Date.parse('2026-11-25T20:00:00Z');
const ENTITY = 'component:default/hedgedoc-docs-example-org';
const databases = new JobTestDatabases();
let hosts: TestSshHosts | string;
let dir: string;

beforeAll(async () => {
  hosts = await startTestSshHosts();
  dir = await mkdtemp(join(tmpdir(), 'fediversity-repl-job-'));
});
afterAll(async () => {
  if (typeof hosts !== 'string') await hosts?.stop();
  await rm(dir, { recursive: true, force: true });
  await databases.stop();
});

describe('Proxmox-style retry spacing', () => {
  it('waits 5, 10, 15 minutes after the first failures, then 30', () => {
    expect([1, 2, 3, 4, 9].map(retryDelayMs)).toEqual([300_000, 600_000, 900_000, 1_800_000, 1_800_000]);
  });
});

describe('replication.run jobs from schedules', () => {
  it('enqueues due schedules once, records the recovery point, and spaces out retries after a failed run', async () => {
    if (typeof hosts === 'string') {
      console.warn(`Skipping: ${hosts}`);
      return;
    }
    const env = hosts;
    const knex = await databases.init('SQLITE_3');
    const clock = new FakeClock(T0);
    const jobStore = new JobStore(knex);
    const schedules = new ScheduleStore(knex);
    const executor = new ReplicationExecutor({
      connect: sshHostConnector(async () => env.sshd.clientPrivateKey),
      s3Credentials: () => {
        throw new Error('no S3 here');
      },
    });
    const kind = replicationRunJobKind(schedules, executor);
    const engine = new JobEngine({
      store: jobStore,
      kinds: new JobKindRegistry([kind]),
      logger: mockServices.logger.mock(),
      clock,
      owner: 'test',
      concurrency: 1,
      random: () => 0.5,
    });
    const ticker = new ReplicationTicker({ schedules, jobs: jobStore, kind, clock });

    const source = join(dir, 'uploads');
    await mkdir(source, { recursive: true });
    for (let i = 0; i < 10; i++) await writeFile(join(source, `u${i}`), randomBytes(8192));
    const host = {
      host: env.sshd.host,
      port: env.sshd.port,
      username: env.sshd.username,
      hostPublicKey: env.sshd.hostPublicKey.trim().split(' ').slice(0, 2).join(' '),
      peerIdentityFile: env.sshd.clientPrivateKeyPath,
    };
    const params = {
      source: { host, path: source },
      target: { host, root: join(dir, 'replica') },
      quiesce: [['touch', join(dir, 'quiesced')]],
      unquiesce: [['rm', '-f', join(dir, 'quiesced')]],
    };
    const schedule = await schedules.create(
      { entityRef: ENTITY, dataClass: 'uploads', strategy: 'rsync', intervalSeconds: 900, params },
      'user:default/alice',
      clock.now(),
    );

    const [first] = await ticker.tick();
    expect(first).toBeDefined();
    expect(await ticker.tick()).toEqual([]); // not due again until the interval passed
    await engine.runUntilIdle();
    expect(await jobStore.getJob(first)).toMatchObject({ status: 'succeeded' });
    const [point] = await schedules.recoveryPoints({ entityRefs: [ENTITY] });
    expect(point).toMatchObject({ scheduleId: schedule.id, dataClass: 'uploads', jobId: first, consistentAt: expect.any(Number) });
    expect(point.detail.generation).toMatch(/^gen-/);
    expect(treeHash(join(dir, 'replica', 'current'))).toBe(treeHash(source));

    // The source disappears: the run fails after its retries; the last good copy and its recovery point stay.
    const goodCopy = treeHash(join(dir, 'replica', 'current'));
    await rm(source, { recursive: true });
    await clock.advance(900_000);
    const [second] = await ticker.tick();
    for (let i = 0; i < 20 && (await jobStore.getJob(second))!.status !== 'failed'; i++) {
      await engine.runUntilIdle();
      await clock.advance(30_000);
    }
    expect((await jobStore.getJob(second))!.status).toBe('failed');
    expect((await schedules.recoveryPoints())[0].consistentAt).toBe(point.consistentAt);
    expect(treeHash(join(dir, 'replica', 'current'))).toBe(goodCopy);

    const failedTry = (await schedules.get(schedule.id)).lastTryAt!;
    expect(clock.now()).toBeLessThan(failedTry + 300_000);
    expect(await ticker.tick()).toEqual([]);
    const afterFailure = await schedules.get(schedule.id);
    expect(afterFailure).toMatchObject({ failCount: 1, nextRunAt: failedTry + 300_000 });
    expect(afterFailure.lastError).toMatch(/failed/);

    // After the backoff the schedule is tried again; the source is back, so it recovers and resets the count.
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'back'), 'again');
    await clock.advance(failedTry + 300_000 - clock.now());
    const [third] = await ticker.tick();
    expect(third).toBeDefined();
    await engine.runUntilIdle();
    expect((await jobStore.getJob(third))!.status).toBe('succeeded');
    expect(await schedules.get(schedule.id)).toMatchObject({ failCount: 0 });
    expect(treeHash(join(dir, 'replica', 'current'))).toBe(treeHash(source));
  });
});
