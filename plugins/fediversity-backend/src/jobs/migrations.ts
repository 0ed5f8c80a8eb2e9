import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath('@fediversity/plugin-fediversity-backend', 'migrations');

/** Brings the plugin's tables (jobs, steps, events, locks) to the latest schema. */
export async function applyMigrations(knex: Knex): Promise<void> {
  await knex.migrate.latest({ directory: migrationsDir });
}
