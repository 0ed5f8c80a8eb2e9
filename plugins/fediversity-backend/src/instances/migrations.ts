import { Knex } from 'knex';
import { migrateLatest } from '../jobs/migrations';

/**
 * The instance store's schema, as an in-code knex migration source with its own bookkeeping table, so it
 * evolves independently of the job engine's migrations/ directory.
 */
const migrations: Record<string, Knex.Migration> = {
  '20261125220000_instances': {
    async up(knex) {
      await knex.schema.createTable('fediversity_instances', table => {
        table.string('id', 36).primary();
        /** The catalog entity name (`component:default/<name>`). */
        table.string('name', 63).notNullable().unique();
        table.string('app', 255).notNullable();
        table.string('owner', 255).notNullable();
        /** One instance per public domain. */
        table.string('domain', 253).notNullable().unique();
        table.text('record_json').notNullable();
        table.string('created_by', 255).notNullable();
        table.string('idempotency_key', 200).nullable().unique();
        table.bigInteger('created_at').notNullable();
        table.bigInteger('updated_at').notNullable();
        table.index(['owner']);
      });
    },
    async down(knex) {
      await knex.schema.dropTable('fediversity_instances');
    },
  },
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: name => name,
  getMigration: async name => migrations[name],
};

/** Brings the instance table to the latest schema. */
export async function applyInstanceMigrations(knex: Knex): Promise<void> {
  await migrateLatest(knex, {
    migrationSource: source,
    tableName: 'fediversity_instances_migrations',
  });
}
