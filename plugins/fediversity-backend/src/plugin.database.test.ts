import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fediversityPlugin } from './plugin';
import { createClosingDatabaseServiceFactory } from './testUtils';

jest.setTimeout(60_000);

describe('fediversityPlugin on SQLite files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fediversity-plugin-db-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // The setting belongs to the connection: it must be made where the migrations are skipped too.
  it.each([false, true])('has its job store commit durably: WAL mode, synchronous FULL (skipMigrations: %s)', async skipMigrations => {
    const handedOut: Array<Promise<Knex>> = [];
    const backend = await startTestBackend({
      features: [
        fediversityPlugin,
        createClosingDatabaseServiceFactory({ onClient: client => handedOut.push(client) }),
        mockServices.rootConfig.factory({
          data: {
            backend: { database: { client: 'better-sqlite3', connection: { directory: dir }, skipMigrations } },
            fediversity: { jobs: { tickSeconds: 1 } },
          },
        }),
      ],
    });
    try {
      const knex = await handedOut[0];
      const pragma = async (name: string) => Object.values(((await knex.raw(`PRAGMA ${name}`)) as Array<Record<string, unknown>>)[0])[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(2);
    } finally {
      await backend.stop();
    }
  });
});
