import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { DatabaseManager } from '@backstage/backend-defaults/database';
import { ConfigReader } from '@backstage/config';
import { Knex } from 'knex';

/**
 * startTestBackend's default database service (each plugin its own in-memory SQLite unless the config says
 * otherwise), except that it destroys the clients it handed out when the backend stops. DatabaseManager's own
 * shutdown (@backstage/backend-defaults 0.18.0) destroys none: its SQLite check calls `.includes` on the knex
 * config object, which throws inside a Promise.allSettled. Every pool then keeps its 1 s reaping interval
 * (SQLite pools never shrink below one connection), and jest force-exits the worker that ran the test.
 * Pass it among startTestBackend's features; other packages' tests import it from
 * `@fediversity/plugin-fediversity-backend/testUtils`.
 */
export const closingDatabaseServiceFactory = createClosingDatabaseServiceFactory();

/** closingDatabaseServiceFactory, telling `onClient` of every client it hands out (to look at a plugin's connection). */
export function createClosingDatabaseServiceFactory(options: { onClient?: (client: Promise<Knex>) => void } = {}) {
  return createServiceFactory({
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
      const inMemory = new ConfigReader({ backend: { database: { client: 'better-sqlite3', connection: ':memory:' } } });
      const manager = DatabaseManager.fromConfig(config.getOptional('backend.database') ? config : inMemory, {
        rootLifecycle,
        rootLogger,
      });
      const clients = new Set<Promise<{ destroy(): Promise<void> }>>();
      // Root shutdown comes after every plugin's: nothing uses the clients any more.
      rootLifecycle.addShutdownHook(async () => {
        await Promise.all([...clients].map(client => client.then(knex => knex.destroy()).catch(() => undefined)));
      });
      return { manager, clients };
    },
    factory({ pluginMetadata, lifecycle, logger }, { manager, clients }) {
      const database = manager.forPlugin(pluginMetadata.getId(), { lifecycle, logger });
      return {
        ...database,
        getClient() {
          const client = database.getClient();
          clients.add(client);
          options.onClient?.(client);
          return client;
        },
      };
    },
  });
}
