// @ts-check

/**
 * The durable job engine's tables (see src/jobs/JobStore.ts).
 * Times are epoch milliseconds (bigint) written from the engine's injected clock, so tests control them.
 * `lease_token` is the fencing token: it grows by one on every claim, and every worker write checks it.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('fediversity_jobs', table => {
    table.string('id', 36).primary();
    table.string('kind', 100).notNullable();
    table.string('entity_ref', 500).notNullable();
    table.text('params_json').notNullable();
    table.string('status', 32).notNullable();
    table.string('current_step', 100).nullable();
    table.integer('attempt').notNullable().defaultTo(0);
    table.integer('priority').notNullable().defaultTo(0);
    table.string('idempotency_key', 200).nullable().unique();
    table.string('lease_owner', 200).nullable();
    table.bigInteger('lease_token').notNullable().defaultTo(0);
    table.bigInteger('lease_expires_at').nullable();
    table.bigInteger('heartbeat_at').nullable();
    table.bigInteger('next_run_at').notNullable();
    /** Set when a point-of-no-return step starts; from then on the job can no longer be cancelled. */
    table.bigInteger('point_of_no_return_at').nullable();
    table.boolean('cancel_requested').notNullable().defaultTo(false);
    table.text('progress_json').nullable();
    table.text('error_json').nullable();
    table.string('created_by', 500).notNullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.bigInteger('finished_at').nullable();
    table.index(['status', 'next_run_at'], 'fediversity_jobs_claimable_idx');
    table.index(['entity_ref', 'created_at'], 'fediversity_jobs_entity_idx');
  });

  await knex.schema.createTable('fediversity_job_steps', table => {
    table
      .string('job_id', 36)
      .notNullable()
      .references('id')
      .inTable('fediversity_jobs')
      .onDelete('CASCADE');
    table.integer('step_index').notNullable();
    table.string('name', 100).notNullable();
    table.string('status', 32).notNullable();
    table.integer('attempt').notNullable().defaultTo(0);
    table.text('checkpoint_json').nullable();
    table.text('output_json').nullable();
    table.text('error_json').nullable();
    /** The fencing token of the lease under which the step last started; a PONR step is reconciled when it differs. */
    table.bigInteger('started_lease_token').nullable();
    table.bigInteger('started_at').nullable();
    table.bigInteger('finished_at').nullable();
    table.string('approved_by', 500).nullable();
    table.bigInteger('approved_at').nullable();
    table.text('approval_comment').nullable();
    table.primary(['job_id', 'name']);
  });

  await knex.schema.createTable('fediversity_job_events', table => {
    table.bigIncrements('id');
    table
      .string('job_id', 36)
      .notNullable()
      .references('id')
      .inTable('fediversity_jobs')
      .onDelete('CASCADE');
    table.integer('seq').notNullable();
    table.bigInteger('ts').notNullable();
    table.string('level', 8).notNullable();
    table.string('step', 100).nullable();
    table.text('message').notNullable();
    table.text('fields_json').nullable();
    table.unique(['job_id', 'seq'], { indexName: 'fediversity_job_events_seq_idx' });
  });

  await knex.schema.createTable('fediversity_locks', table => {
    table.string('resource_key', 500).primary();
    table
      .string('job_id', 36)
      .notNullable()
      .references('id')
      .inTable('fediversity_jobs')
      .onDelete('CASCADE');
    table.bigInteger('lease_token').notNullable();
    table.bigInteger('acquired_at').notNullable();
    table.index(['job_id'], 'fediversity_locks_job_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('fediversity_locks');
  await knex.schema.dropTable('fediversity_job_events');
  await knex.schema.dropTable('fediversity_job_steps');
  await knex.schema.dropTable('fediversity_jobs');
};
