import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath('@fediversity/plugin-fediversity-backend', 'migrations');
const ATTEMPTS = 10;

/** Brings the plugin's tables (jobs, steps, events, locks) to the latest schema. */
export async function applyMigrations(knex: Knex): Promise<void> {
  await migrateLatest(knex, { directory: migrationsDir });
}

/**
 * `knex.migrate.latest`, safe when several callers start at once: the plugin and its modules on one database, or
 * several backend instances on one PostgreSQL. Knex's migration lock serialises the migrations themselves, but
 * not the creation of its own bookkeeping tables, so a caller that loses that race ("already exists") tries
 * again and then finds the tables, and the lock.
 */
export async function migrateLatest(knex: Knex, config: Knex.MigratorConfig): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await knex.migrate.latest(config);
      return;
    } catch (error) {
      const lostTheRace = /already exists|duplicate key value|Migration table is already locked/i.test(String(error));
      if (!lostTheRace || attempt >= ATTEMPTS) throw error;
      await new Promise(resolve => setTimeout(resolve, Math.min(1_000, 100 * attempt) + Math.random() * 100));
    }
  }
}
