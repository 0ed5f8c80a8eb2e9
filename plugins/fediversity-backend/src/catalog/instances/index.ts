export { catalogModuleFediversityInstances } from './module';
export { InstanceEntityProvider } from './InstanceEntityProvider';
export type { InstanceSource } from './InstanceEntityProvider';
export { buildInstanceEntity, INSTANCES_LOCATION } from './buildInstanceEntity';
