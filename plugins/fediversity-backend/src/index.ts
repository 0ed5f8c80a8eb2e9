export { fediversityPlugin as default } from './plugin';
export { catalogModuleFediversityProxmox } from './catalog/proxmox';
export {
  pveClustersServiceFactory,
  createPveClustersServiceFactory,
} from './proxmox';
export { catalogModuleFediversityProcessor } from './catalog/processor';
export { permissionModuleFediversityPolicy } from './permissions';
export { fediversityModuleInstances } from './instances';
export { fediversityModuleGuests } from './service/guestsModule';
export { fediversityModuleReplication } from './replication';
export { fediversityModuleMigration } from './migration';
export { catalogModuleFediversityInstances } from './catalog/instances';
// The job engine's API for job kind authors (modules add kinds through the extension point).
export {
  fediversityJobKindsExtensionPoint,
  PermanentJobError,
  JobCancelledError,
  LeaseLostError,
  EngineStoppingError,
  DEFAULT_RETRY_POLICY,
} from './jobs';
export type {
  FediversityJobKindsExtensionPoint,
  JobKind,
  JobStepDefinition,
  RunStepDefinition,
  ApprovalGateDefinition,
  ReconcileResult,
  RetryPolicy,
  StepContext,
  Clock,
} from './jobs';
