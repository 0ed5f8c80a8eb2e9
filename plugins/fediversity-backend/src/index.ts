export { fediversityPlugin as default } from './plugin';
export { catalogModuleFediversityProxmox } from './catalog/proxmox';
export {
  pveClustersServiceFactory,
  createPveClustersServiceFactory,
} from './proxmox';
export { catalogModuleFediversityProcessor } from './catalog/processor';
export { fediversityModuleInstances } from './instances';
export { catalogModuleFediversityInstances } from './catalog/instances';
