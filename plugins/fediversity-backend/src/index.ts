export { fediversityPlugin as default } from './plugin';
export { catalogModuleFediversityProcessor } from './catalog/processor';
