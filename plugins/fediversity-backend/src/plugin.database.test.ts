import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { DatabaseManager } from '@backstage/backend-defaults/database';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fediversityPlugin } from './plugin';

jest.setTimeout(60_000);

describe('fediversityPlugin on SQLite files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fediversity-plugin-db-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('has its job store commit durably: WAL mode, synchronous FULL on the connection it uses', async () => {
    const handedOut: Array<Promise<Knex>> = [];
    // The default database service, with a look at the clients it hands to the plugin.
    const observedDatabase = createServiceFactory({
      service: coreServices.database,
      deps: {
        config: coreServices.rootConfig,
        rootLifecycle: coreServices.rootLifecycle,
        rootLogger: coreServices.rootLogger,
        lifecycle: coreServices.lifecycle,
        logger: coreServices.logger,
        pluginMetadata: coreServices.pluginMetadata,
      },
      async createRootContext({ config, rootLifecycle, rootLogger }) {
        return DatabaseManager.fromConfig(config, { rootLifecycle, rootLogger });
      },
      factory({ pluginMetadata, lifecycle, logger }, manager) {
        const database = manager.forPlugin(pluginMetadata.getId(), { lifecycle, logger });
        return {
          ...database,
          getClient() {
            const client = database.getClient();
            handedOut.push(client);
            return client;
          },
        };
      },
    });
    const backend = await startTestBackend({
      features: [
        fediversityPlugin,
        observedDatabase,
        mockServices.rootConfig.factory({
          data: { backend: { database: { client: 'better-sqlite3', connection: { directory: dir } } }, fediversity: { jobs: { tickSeconds: 1 } } },
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
      await Promise.all(handedOut.map(client => client.then(knex => knex.destroy()).catch(() => undefined)));
    }
  });
});
