export { catalogModuleFediversityProxmox } from './module';
export { ProxmoxEntityProvider } from './ProxmoxEntityProvider';
