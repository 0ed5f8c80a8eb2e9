export { fediversityModuleMigration } from './module';
export { migrationJobKind, MIGRATION_JOB_KIND } from './migrationJobKind';
export type { MigrationDeps, MigrationJobKind } from './migrationJobKind';
export { migrationParamsSchema } from './params';
export type { MigrationParams } from './params';
export type { MigrationStrategy, StrategyEnv } from './strategy';
