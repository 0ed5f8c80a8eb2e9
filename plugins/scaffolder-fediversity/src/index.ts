export { scaffolderModuleFediversity as default } from './module';
export { createActions } from './actions';
export type { FediversityActionDeps } from './actions';
export { guestAccessServiceRef, ClusterGuestAccess } from './lib/guestAccess';
export type { GuestAccess, GuestSshEndpoint } from './lib/guestAccess';
export { FediversityBackendClient } from './lib/backendClient';
export type { FediversityBackend } from './lib/backendClient';
export { readDnsConfig } from '@fediversity/plugin-fediversity-node';
