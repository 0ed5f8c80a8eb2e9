/**
 * Drain time of the durable job engine: N jobs of three counted steps, run by two engines ("instances",
 * each with its own connection pool) on one PostgreSQL (FEDIVERSITY_TEST_PG_URL, else a throwaway cluster).
 *   npm run bench -- job-drain [jobs=1000] [concurrency per instance=8]
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import knexFactory, { Knex } from 'knex';
import { JobEngine } from '../plugins/fediversity-backend/src/jobs/JobEngine';
import { JobStore } from '../plugins/fediversity-backend/src/jobs/JobStore';
import { applyMigrations } from '../plugins/fediversity-backend/src/jobs/migrations';
import { JobKindRegistry } from '../plugins/fediversity-backend/src/jobs/registry';
import { countingKinds, createCountingTables } from '../plugins/fediversity-backend/src/jobs/__testUtils__/countingKinds';
import { startTestPostgres } from '../plugins/fediversity-backend/src/jobs/__testUtils__/postgres';

const quietLogger: LoggerService = {
  error: message => process.stderr.write(`error: ${message}\n`),
  warn: message => process.stderr.write(`warn: ${message}\n`),
  info: () => {},
  debug: () => {},
  child: () => quietLogger,
};

async function main() {
  const jobs = Number(process.argv[2] ?? 1000);
  const concurrency = Number(process.argv[3] ?? 8);
  const postgres = await startTestPostgres();
  const pools: Knex[] = [];
  const pool = (url: string, max: number) => {
    const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max } });
    pools.push(knex);
    return knex;
  };
  try {
    const { url } = await postgres.createDatabase();
    const admin = pool(url, 4);
    await applyMigrations(admin);
    await createCountingTables(admin);
    const store = new JobStore(admin);
    for (let i = 0; i < jobs; i++) {
      await store.createJob(
        {
          id: `job-${i}`,
          kind: 'test.count',
          entityRef: `component:default/app-${i}`,
          params: {},
          steps: [{ name: 'one' }, { name: 'two' }, { name: 'three' }],
          createdBy: 'user:default/bench',
        },
        Date.now(),
      );
    }
    const engines = ['instance-a', 'instance-b'].map(owner => {
      const knex = pool(url, concurrency + 2);
      return new JobEngine({
        store: new JobStore(knex),
        kinds: new JobKindRegistry(countingKinds(knex, owner)),
        logger: quietLogger,
        owner,
        concurrency,
        leaseMs: 30_000,
        heartbeatMs: 10_000,
      });
    });
    const started = Date.now();
    const tickers = engines.map(engine => setInterval(() => engine.wake(), 500));
    engines.forEach(engine => engine.wake());
    for (;;) {
      const [{ n }] = await admin('fediversity_jobs').where('status', 'succeeded').count({ n: '*' });
      if (Number(n) === jobs) break;
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    tickers.forEach(clearInterval);
    await Promise.all(engines.map(engine => engine.stop()));
    const duplicates = await admin('test_step_runs')
      .select('job_id', 'step')
      .groupBy('job_id', 'step')
      .havingRaw('count(*) > 1');
    const [{ n: stepRuns }] = await admin('test_step_runs').count({ n: '*' });
    process.stdout.write(
      [
        `jobs=${jobs}`,
        'instances=2',
        `concurrency_per_instance=${concurrency}`,
        `drain_seconds=${seconds.toFixed(1)}`,
        `jobs_per_second=${(jobs / seconds).toFixed(1)}`,
        `step_runs=${stepRuns}`,
        `duplicate_step_runs=${duplicates.length}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const knex of pools) await knex.destroy();
    await postgres.stop();
  }
}

main().catch(error => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
