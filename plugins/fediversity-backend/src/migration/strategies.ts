import { PermanentJobError } from '../jobs/errors';
import { FilesStrategy } from './filesStrategy';
import { IdentityStrategy } from './identityStrategy';
import { MigrationParams } from './params';
import { PostgresAutoStrategy } from './postgresAutoStrategy';
import { PostgresLogicalStrategy } from './postgresLogicalStrategy';
import { PostgresStreamingStrategy } from './postgresStreamingStrategy';
import { MigrationStrategy } from './strategy';

/** The strategies the app definition names, one per data class, plus the domain identity. */
export function strategiesFromAppDefinition(params: MigrationParams): MigrationStrategy[] {
  const strategies: MigrationStrategy[] = [];
  for (const dataClass of params.app.dataClasses) {
    if (dataClass.replication === 'rebuild') continue;
    if (dataClass.kind === 'directories' && dataClass.replication === 'rsync-quiesced') {
      strategies.push(new FilesStrategy(dataClass.name, dataClass.directories));
    } else if (
      dataClass.kind === 'database' &&
      dataClass.engine === 'postgresql' &&
      dataClass.replication === 'postgresql-streaming'
    ) {
      strategies.push(postgresStrategy(dataClass.name, params.postgresMethod));
    } else {
      throw new PermanentJobError(
        `Data class ${dataClass.name}: migrating ${dataClass.kind} data with ${dataClass.replication} is not supported yet`,
      );
    }
  }
  if (params.app.identityPaths.length) strategies.push(new IdentityStrategy(params.app.identityPaths));
  return strategies;
}

function postgresStrategy(dataClass: string, method: MigrationParams['postgresMethod']): MigrationStrategy {
  if (method === 'physical') return new PostgresStreamingStrategy(dataClass);
  if (method === 'logical') return new PostgresLogicalStrategy(dataClass);
  return new PostgresAutoStrategy(dataClass);
}
