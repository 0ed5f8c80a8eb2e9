import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { Knex } from 'knex';
import { applyInstanceMigrations } from '../instances/migrations';
import { applyMigrations } from './migrations';

describe('applyMigrations', () => {
  let dir: string;
  const clients: Knex[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fediversity-migrations-'));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(client => client.destroy()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a SQLite file in WAL mode (a commit is one append, readers go on while the engine writes)', async () => {
    const client = knexFactory({ client: 'better-sqlite3', connection: { filename: join(dir, 'fediversity.sqlite') }, useNullAsDefault: true });
    clients.push(client);
    const journalMode = async () => ((await client.raw('PRAGMA journal_mode')) as Array<{ journal_mode: string }>)[0].journal_mode;
    expect(await journalMode()).toBe('delete');
    await applyMigrations(client);
    expect(await journalMode()).toBe('wal');
  });

  // The plugin and two of its modules migrate at startup; on a fresh database they raced knex's own
  // bookkeeping tables ("table `knex_migrations` already exists") and the backend did not start.
  it('lets several callers migrate one fresh database at once', async () => {
    const open = () => {
      const client = knexFactory({ client: 'better-sqlite3', connection: { filename: join(dir, 'fediversity.sqlite') }, useNullAsDefault: true });
      clients.push(client);
      return client;
    };
    // One client, as the plugin and its modules share it.
    const shared = open();
    const callers = [shared, shared, shared];
    await Promise.all([...callers.map(applyMigrations), ...callers.map(applyInstanceMigrations)]);
    const tables = (await callers[0].raw("SELECT name FROM sqlite_master WHERE type = 'table'")).map((row: { name: string }) => row.name);
    expect(tables).toEqual(expect.arrayContaining(['knex_migrations', 'fediversity_instances_migrations']));
    const applied = await callers[0]('knex_migrations').select('name');
    expect(new Set(applied.map(row => row.name)).size).toBe(applied.length);
  });
});
