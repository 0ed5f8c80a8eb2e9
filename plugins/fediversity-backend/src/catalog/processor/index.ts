export { FediversityEntityProcessor } from './FediversityEntityProcessor';
export type { EntityLookup } from './FediversityEntityProcessor';
export { catalogModuleFediversityProcessor } from './module';
