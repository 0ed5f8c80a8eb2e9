// @ts-check

/**
 * Replication schedules, recovery points and restore drills (see src/replication/ and src/backups/).
 * Times are epoch milliseconds written from the injected clock.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('fediversity_replication_schedules', table => {
    table.string('id', 36).primary();
    /** The instance (catalog entity) whose data class is replicated; permissions are checked against it. */
    table.string('entity_ref', 500).notNullable();
    table.string('data_class', 63).notNullable();
    /** zfs | rsync | postgres | blob */
    table.string('strategy', 16).notNullable();
    table.integer('interval_seconds').notNullable();
    table.boolean('enabled').notNullable().defaultTo(true);
    /** Strategy settings: hosts, datasets or paths, secret references (never secret values), retention. */
    table.text('params_json').notNullable();
    table.bigInteger('next_run_at').notNullable();
    table.string('last_job_id', 36).nullable();
    table.bigInteger('last_try_at').nullable();
    table.integer('fail_count').notNullable().defaultTo(0);
    table.text('last_error').nullable();
    table.string('created_by', 500).notNullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.unique(['entity_ref', 'data_class'], { indexName: 'fediversity_replication_schedules_class_idx' });
    table.index(['enabled', 'next_run_at'], 'fediversity_replication_schedules_due_idx');
  });

  await knex.schema.createTable('fediversity_recovery_points', table => {
    table
      .string('schedule_id', 36)
      .primary()
      .references('id')
      .inTable('fediversity_replication_schedules')
      .onDelete('CASCADE');
    table.string('entity_ref', 500).notNullable();
    table.string('data_class', 63).notNullable();
    /** When the newest consistent copy was taken: its age is the recovery point objective actually met. */
    table.bigInteger('consistent_at').notNullable();
    table.bigInteger('recorded_at').notNullable();
    table.string('job_id', 36).nullable();
    /** The common point: snapshot + guid, generation, LSN, object count… */
    table.text('detail_json').notNullable();
    table.index(['entity_ref'], 'fediversity_recovery_points_entity_idx');
  });

  await knex.schema.createTable('fediversity_restore_drills', table => {
    table.string('id', 36).primary();
    table.string('entity_ref', 500).notNullable();
    table.string('job_id', 36).notNullable().unique();
    table.string('backup_id', 500).notNullable();
    /** Backup taken → drill: how old the restored data was. */
    table.bigInteger('recovery_point_at').nullable();
    /** Restore start → verified service: the measured recovery time. */
    table.integer('recovery_time_ms').notNullable();
    table.string('result', 16).notNullable();
    table.text('detail_json').notNullable();
    table.bigInteger('finished_at').notNullable();
    table.index(['entity_ref', 'finished_at'], 'fediversity_restore_drills_entity_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('fediversity_restore_drills');
  await knex.schema.dropTable('fediversity_recovery_points');
  await knex.schema.dropTable('fediversity_replication_schedules');
};
