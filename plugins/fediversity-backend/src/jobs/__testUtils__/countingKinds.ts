import { Knex } from 'knex';
import { JobKind } from '../types';

/**
 * Job kinds for the multi-instance tests. Every step run is counted in `test_step_runs`, outside the
 * engine's own bookkeeping, so a test can prove no step ran twice; `test_effects` stands for the
 * irreversible effect of a point-of-no-return step (a DNS flip).
 */
export async function createCountingTables(knex: Knex): Promise<void> {
  await knex.schema.createTable('test_step_runs', table => {
    table.increments('id');
    table.string('job_id').notNullable();
    table.string('step').notNullable();
    table.string('owner').notNullable();
  });
  await knex.schema.createTable('test_effects', table => {
    table.string('job_id').primary();
  });
}

export function countingKinds(knex: Knex, owner: string, options: { hangAfterEffect?: () => Promise<void> } = {}) {
  const countRun = (jobId: string, step: string) => knex('test_step_runs').insert({ job_id: jobId, step, owner });
  const counted = (name: string) => ({
    name,
    run: async (ctx: { job: { id: string } }) => {
      await countRun(ctx.job.id, name);
    },
  });
  const count: JobKind = { kind: 'test.count', steps: [counted('one'), counted('two'), counted('three')] };
  const pointOfNoReturn: JobKind = {
    kind: 'test.ponr',
    steps: [
      counted('prepare'),
      {
        name: 'cutover',
        pointOfNoReturn: true,
        reconcile: async ctx => {
          const effect = await knex('test_effects').where({ job_id: ctx.job.id }).first();
          return effect ? { done: true } : { done: false };
        },
        run: async ctx => {
          await countRun(ctx.job.id, 'cutover');
          await knex('test_effects').insert({ job_id: ctx.job.id });
          await options.hangAfterEffect?.();
        },
      },
      counted('observe'),
    ],
  };
  return [count, pointOfNoReturn];
}
