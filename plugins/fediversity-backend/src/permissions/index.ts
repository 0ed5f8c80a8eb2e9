export { FediversityOwnerPolicy } from './policy';
export { permissionModuleFediversityPolicy } from './policyModule';
