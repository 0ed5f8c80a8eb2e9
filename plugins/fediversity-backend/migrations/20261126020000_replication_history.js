// @ts-check

/**
 * Additions to the replication tables (see src/replication/ and src/backups/):
 * - every recorded recovery point, not only the newest, so the portal can plot the recovery point over time;
 * - the file manifest (sha256 per file) taken with a backup, against which a restore is verified.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('fediversity_recovery_point_history', table => {
    table.increments('id').primary();
    table
      .string('schedule_id', 36)
      .notNullable()
      .references('id')
      .inTable('fediversity_replication_schedules')
      .onDelete('CASCADE');
    table.string('entity_ref', 500).notNullable();
    table.string('data_class', 63).notNullable();
    table.bigInteger('consistent_at').notNullable();
    table.bigInteger('recorded_at').notNullable();
    table.string('job_id', 36).nullable();
    table.index(['entity_ref', 'recorded_at'], 'fediversity_recovery_point_history_entity_idx');
  });

  await knex.schema.createTable('fediversity_backup_manifests', table => {
    /** The backup (vzdump volid) the manifest was taken for. */
    table.string('backup_id', 500).primary();
    table.string('entity_ref', 500).notNullable();
    table.string('job_id', 36).nullable();
    /** The backed-up directories (absolute paths in the guest). */
    table.text('directories_json').notNullable();
    /** { "<path relative to the guest root>": "<sha256>" } */
    table.text('files_json').notNullable();
    table.integer('file_count').notNullable();
    table.bigInteger('taken_at').notNullable();
    table.index(['entity_ref'], 'fediversity_backup_manifests_entity_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('fediversity_backup_manifests');
  await knex.schema.dropTable('fediversity_recovery_point_history');
};
