import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import { useDurableCommits } from './sqliteCommits';

const migrationsDir = resolvePackagePath('@fediversity/plugin-fediversity-backend', 'migrations');
const ATTEMPTS = 10;

/** Brings the plugin's tables (jobs, steps, events, locks) to the latest schema; SQLite commits durably (sqliteCommits.ts). */
export async function applyMigrations(knex: Knex): Promise<void> {
  await useDurableCommits(knex);
  await migrateLatest(knex, { directory: migrationsDir });
}

/**
 * Callers migrating through one client, one after the other. The plugin and its modules share the plugin's client
 * and migrate at startup; concurrent `migrate.latest` calls on it race for knex's bookkeeping tables, and on
 * SQLite's single connection they can wait on each other for ever. Keyed by client, so nothing outlives it.
 */
const queues = new WeakMap<Knex, Promise<unknown>>();

/**
 * `knex.migrate.latest`, safe when several callers start at once: in this process they take turns per client;
 * across processes (backend instances on one PostgreSQL) knex's migration lock serialises the migrations, but
 * not the creation of its own bookkeeping tables, so a caller that loses that race tries again.
 */
export function migrateLatest(knex: Knex, config: Knex.MigratorConfig): Promise<void> {
  const turn = (queues.get(knex) ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => migrateWithRetries(knex, config));
  queues.set(knex, turn);
  return turn;
}

async function migrateWithRetries(knex: Knex, config: Knex.MigratorConfig): Promise<void> {
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
