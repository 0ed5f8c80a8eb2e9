export { MigrationCard, MIGRATION_JOB_KIND } from './MigrationCard';
export { MigrationWizard } from './MigrationWizard';
export { MigrationLiveView } from './MigrationLiveView';
