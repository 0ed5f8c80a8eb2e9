export { InstanceStore } from './InstanceStore';
export { applyInstanceMigrations } from './migrations';
export { createInstancesRouter } from './router';
export type { InstancesRouterOptions } from './router';
export { createInstanceRequestSchema, instanceSshSchema, INSTANCES_TOPIC } from './types';
export type { CreateInstanceRequest, InstanceRecord } from './types';
export { fediversityModuleInstances } from './module';
export { instanceBackupJobKind, instanceBackupParams } from './backupJobKind';
