export { MigrationCard } from './MigrationCard';
export { DECOMMISSION_JOB_KIND, MIGRATION_JOB_KIND } from './jobKinds';
export { MigrationWizard } from './MigrationWizard';
export { MigrationLiveView } from './MigrationLiveView';
