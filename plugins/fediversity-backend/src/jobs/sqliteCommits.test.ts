import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { Knex } from 'knex';
import { useDurableCommits } from './sqliteCommits';

describe('useDurableCommits', () => {
  let dir: string;
  const clients: Knex[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fediversity-sqlite-'));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(client => client.destroy()));
    rmSync(dir, { recursive: true, force: true });
  });

  // A pool that closes an idle connection at once, so the next query runs on a new one.
  const open = (file: string) => {
    const client = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: file },
      useNullAsDefault: true,
      pool: { min: 0, max: 1, idleTimeoutMillis: 1, reapIntervalMillis: 5 },
    });
    clients.push(client);
    return client;
  };
  const pragma = async (client: Knex, name: string) => Object.values(((await client.raw(`PRAGMA ${name}`)) as Array<Record<string, unknown>>)[0])[0];
  const afterReap = () => new Promise(resolve => setTimeout(resolve, 50));

  it('keeps the file in WAL mode and makes every connection fsync its commits, including connections opened later', async () => {
    const file = join(dir, 'jobs.sqlite');
    const client = open(file);
    expect(await pragma(client, 'journal_mode')).toBe('delete');
    await useDurableCommits(client);
    expect(await pragma(client, 'journal_mode')).toBe('wal');
    expect(await pragma(client, 'synchronous')).toBe(2);
    await afterReap();
    expect(await pragma(client, 'synchronous')).toBe(2);
    // Without the setting a connection to a file in WAL mode commits without fsync (better-sqlite3's build default).
    const unconfigured = open(file);
    expect(await pragma(unconfigured, 'synchronous')).toBe(1);
  });

  it('sets a client up once however often it is called (the plugin and its modules share one)', async () => {
    const client = open(join(dir, 'jobs.sqlite'));
    await Promise.all([useDurableCommits(client), useDurableCommits(client), useDurableCommits(client)]);
    expect(client.client.pool.emitter.listenerCount('createSuccess')).toBe(1);
  });

  it('leaves other databases alone', async () => {
    const client = knexFactory({ client: 'pg', connection: 'postgres://nobody@127.0.0.1:1/none' });
    clients.push(client);
    await expect(useDurableCommits(client)).resolves.toBeUndefined();
  });
});
