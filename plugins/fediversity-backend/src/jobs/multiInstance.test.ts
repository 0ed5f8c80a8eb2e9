import { mockServices } from '@backstage/backend-test-utils';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Knex } from 'knex';
import { JobEngine } from './JobEngine';
import { JobStore } from './JobStore';
import { applyMigrations } from './migrations';
import { JobKindRegistry } from './registry';
import { countingKinds, createCountingTables } from './__testUtils__/countingKinds';
import { JobTestDatabases } from './__testUtils__/databases';

/**
 * Several backend instances on one PostgreSQL: each engine has its own connection pool, as separate
 * processes would; the kill test runs the first instance as a real child process and SIGKILLs it.
 */

jest.setTimeout(300_000);

const JOBS = 1_000;
const databases = new JobTestDatabases();
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await databases.stop();
});

async function freshDatabase(): Promise<{ url: string; admin: Knex }> {
  const url = await databases.postgresUrl();
  const admin = databases.connect(url, 4);
  await applyMigrations(admin);
  await createCountingTables(admin);
  return { url, admin };
}

function engineOn(url: string, owner: string, options: { leaseMs: number; concurrency: number }) {
  const knex = databases.connect(url, options.concurrency + 2);
  return new JobEngine({
    store: new JobStore(knex),
    kinds: new JobKindRegistry(countingKinds(knex, owner)),
    logger: mockServices.logger.mock(),
    owner,
    leaseMs: options.leaseMs,
    heartbeatMs: options.leaseMs / 3,
    concurrency: options.concurrency,
  });
}

async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** Scheduler ticks, as the plugin's local task gives them (each finished job also claims the next). */
function keepTicking(engine: JobEngine, everyMs = 500) {
  const timer = setInterval(() => engine.wake(), everyMs);
  return () => clearInterval(timer);
}

describe('several instances on one PostgreSQL', () => {
  it(`drain ${JOBS} jobs with no step run twice`, async () => {
    const { url, admin } = await freshDatabase();
    const store = new JobStore(admin);
    for (let start = 0; start < JOBS; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, offset) =>
          store.createJob(
            {
              id: `job-${String(start + offset).padStart(4, '0')}`,
              kind: 'test.count',
              entityRef: `component:default/app-${start + offset}`,
              params: {},
              steps: [{ name: 'one' }, { name: 'two' }, { name: 'three' }],
              createdBy: 'user:default/load',
            },
            Date.now(),
          ),
        ),
      );
    }

    const engines = ['instance-a', 'instance-b'].map(owner =>
      engineOn(url, owner, { leaseMs: 30_000, concurrency: 8 }),
    );
    const started = Date.now();
    const stopTicking = engines.map(engine => keepTicking(engine));
    try {
      await waitUntil(
        'all jobs succeeded',
        async () => Number((await admin('fediversity_jobs').where('status', 'succeeded').count({ n: '*' }))[0].n) === JOBS,
        240_000,
      );
    } finally {
      stopTicking.forEach(stop => stop());
      await Promise.all(engines.map(engine => engine.stop()));
    }
    const drainSeconds = (Date.now() - started) / 1000;
    process.stdout.write(`drain_1000_jobs_two_instances_seconds=${drainSeconds.toFixed(1)}\n`);

    const runs = await admin('test_step_runs').select('job_id', 'step', 'owner');
    expect(runs.length).toBe(JOBS * 3);
    const duplicates = await admin('test_step_runs')
      .select('job_id', 'step')
      .count({ n: '*' })
      .groupBy('job_id', 'step')
      .havingRaw('count(*) > 1');
    expect(duplicates).toEqual([]);
    // Both instances did a share of the work.
    const byOwner = new Map<string, number>();
    for (const run of runs) byOwner.set(run.owner, (byOwner.get(run.owner) ?? 0) + 1);
    expect([...byOwner.keys()].sort()).toEqual(['instance-a', 'instance-b']);
    expect(await admin('fediversity_locks').count({ n: '*' })).toEqual([{ n: '0' }]);
  });

  it('hands the job of a killed instance to the other after the lease expires; the point of no return runs once', async () => {
    const { url, admin } = await freshDatabase();
    const store = new JobStore(admin);
    const leaseMs = 3_000;
    await store.createJob(
      {
        id: 'job-cutover',
        kind: 'test.ponr',
        entityRef: 'component:default/mastodon',
        params: {},
        steps: [{ name: 'prepare' }, { name: 'cutover' }, { name: 'observe' }],
        createdBy: 'user:default/alice',
      },
      Date.now(),
    );

    const child = spawn(
      process.execPath,
      ['-r', '@backstage/cli/config/nodeTransform.cjs', join(__dirname, '__testUtils__', 'workerProcess.ts'), url, 'instance-a', String(leaseMs)],
      { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', chunk => (stderr += chunk));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', chunk => String(chunk).includes('EFFECT_DONE') && resolve());
      child.on('exit', code => reject(new Error(`worker exited with ${code}: ${stderr}`)));
    });

    child.kill('SIGKILL');
    const killedAt = Date.now();
    const { heartbeatAt } = (await store.getJob('job-cutover'))!;
    expect((await store.getJob('job-cutover'))?.leaseOwner).toBe('instance-a');

    const survivor = engineOn(url, 'instance-b', { leaseMs, concurrency: 2 });
    const stopTicking = keepTicking(survivor, 200);
    try {
      await waitUntil('the job succeeded', async () => (await store.getJob('job-cutover'))?.status === 'succeeded', 30_000);
    } finally {
      stopTicking();
      await survivor.stop();
    }

    const events = await store.listEvents('job-cutover', 0);
    const takeover = events.find(event => event.message.startsWith('Lease of instance-a expired'));
    expect(takeover?.message).toBe('Lease of instance-a expired; taken over by instance-b (lease 2)');
    expect(takeover!.ts).toBeGreaterThan(heartbeatAt! + leaseMs);
    expect(takeover!.ts).toBeGreaterThanOrEqual(killedAt - leaseMs);
    expect(events.map(event => `${event.step ?? '-'}: ${event.message}`)).toEqual(
      expect.arrayContaining([
        'cutover: Step started before; reconciling',
        'cutover: Step had already taken effect; not run again',
        'observe: Step succeeded',
      ]),
    );
    expect(await admin('test_effects').count({ n: '*' })).toEqual([{ n: '1' }]);
    const runs = await admin('test_step_runs').select('step', 'owner').orderBy('id');
    expect(runs).toEqual([
      { step: 'prepare', owner: 'instance-a' },
      { step: 'cutover', owner: 'instance-a' },
      { step: 'observe', owner: 'instance-b' },
    ]);
  });
});
