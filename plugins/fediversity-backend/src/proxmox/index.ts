export { pveClustersServiceFactory, createPveClustersServiceFactory } from './pveClustersServiceFactory';
export { readPveClusterConfigs } from './config';
export type { PveClusterConfig } from './config';
