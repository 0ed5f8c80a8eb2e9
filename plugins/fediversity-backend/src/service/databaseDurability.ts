import { LoggerService, RootConfigService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';

/**
 * Jobs and instances must survive a restart. An in-memory SQLite database loses them,
 * so it is refused unless explicitly allowed (tests), and then warned about loudly.
 */
export function checkDatabaseIsDurable(config: RootConfigService, logger: LoggerService) {
  const client = config.getOptionalString('backend.database.client') ?? 'better-sqlite3';
  if (client !== 'better-sqlite3' && client !== 'sqlite3') return;
  const connection = config.getOptional('backend.database.connection');
  const inMemory =
    connection === undefined ||
    connection === ':memory:' ||
    (typeof connection === 'object' &&
      connection !== null &&
      (connection as Record<string, unknown>).filename === ':memory:');
  if (!inMemory) return;
  if (config.getOptionalBoolean('fediversity.allowInMemoryDatabase')) {
    logger.warn(
      '!!! backend.database is in-memory SQLite: every job, schedule and instance is lost on restart. ' +
        'Set backend.database.connection.directory (the default app-config does) for a durable database. !!!',
    );
    return;
  }
  throw new InputError(
    'backend.database is in-memory SQLite, which loses jobs and instances on restart. ' +
      'Configure backend.database.connection.directory (SQLite files) or PostgreSQL, ' +
      'or set fediversity.allowInMemoryDatabase: true for throwaway use.',
  );
}
