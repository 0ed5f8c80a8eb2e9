// @ts-check

/**
 * A deadline on the approval gate a job is parked at (epoch ms, null = no deadline). When it passes without an
 * approval the janitor cancels the job, so the worker that next claims it rolls it back.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('fediversity_jobs', table => {
    table.bigInteger('approval_deadline_at').nullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('fediversity_jobs', table => {
    table.dropColumn('approval_deadline_at');
  });
};
