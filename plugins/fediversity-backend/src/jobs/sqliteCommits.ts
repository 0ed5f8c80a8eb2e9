import { Knex } from 'knex';

/**
 * Every commit to a SQLite job store reaches the disk before the engine acts on it, with the write-ahead log.
 *
 * The rollback journal costs every commit two fsyncs and keeps readers out while the engine writes; with the
 * write-ahead log a commit is one fsync'd append and the API reads while the engine writes. The mode is stored
 * in the database file. `synchronous` is not: it belongs to the connection, and better-sqlite3 builds SQLite
 * with `SQLITE_DEFAULT_WAL_SYNCHRONOUS=1`, so a connection to a file in WAL mode commits without an fsync
 * unless told otherwise. A power loss could then take back the step start that precedes the point of no
 * return after its effects ran, and the rerun would roll back a cut-over. So every connection, the current
 * one and any the pool opens later, is set to FULL. An in-memory database keeps its own journal.
 */
export async function useDurableCommits(knex: Knex): Promise<void> {
  const client = String(knex.client.config.client);
  if (client !== 'better-sqlite3' && client !== 'sqlite3') return;
  await knex.raw('PRAGMA journal_mode = WAL');
  await knex.raw('PRAGMA synchronous = FULL');
  const pool = knex.client.pool;
  if (!pool.emitter.listeners('createSuccess').includes(commitDurably)) pool.on('createSuccess', commitDurably);
}

/** A new pool connection: better-sqlite3's Database (`pragma`) or node-sqlite3's (`run` with a callback). */
function commitDurably(_eventId: unknown, connection: SqliteConnection) {
  if (typeof connection.pragma === 'function') connection.pragma('synchronous = FULL');
  else connection.run?.('PRAGMA synchronous = FULL', () => undefined);
}

interface SqliteConnection {
  pragma?: (source: string) => unknown;
  run?: (sql: string, callback: () => void) => unknown;
}
