export { fediversityPlugin as default } from './plugin';
