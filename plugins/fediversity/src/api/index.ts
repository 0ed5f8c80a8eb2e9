export * from './types';
export { fediversityApiRef, FediversityUiClient, type FediversityUiApi } from './FediversityUiApi';
