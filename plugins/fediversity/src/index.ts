/**
 * Frontend plugin of the Fediversity portal: SWOT cards and the Apps page.
 * Legacy frontend system exports; the new frontend system plugin is the default export of `./alpha`.
 *
 * @packageDocumentation
 */
export { fediversityPlugin, EntitySwotCard, FediversityAppsPage } from './plugin';
export { appsRouteRef } from './routes';
export {
  APP_DEFINITION_TYPE,
  hasSwot,
  isAppDefinition,
  readSwot,
  type Swot,
} from './appDefinition';
export {
  EntityInstanceOverviewCard,
  EntityReplicationCard,
  EntityMigrationCard,
  EntityBackupsCard,
  EntityNodeGuestsCard,
  EntityStorageUsageCard,
  FediversityJobsPage,
} from './managementLegacy';
export { jobsRouteRef } from './managementRoutes';
export { fediversityApiRef, FediversityUiClient, type FediversityUiApi } from './api';
export { fediversityApiFactory } from './api/apiFactory';
export { FediversityNodePickerFieldExtension, FediversityStoragePickerFieldExtension } from './scaffolderFieldsLegacy';
export {
  FediversityNodePicker,
  FediversityStoragePicker,
  validateNodeChoice,
  validateStorageChoice,
  type NodePickerUiOptions,
  type StoragePickerUiOptions,
} from './components/fields';
