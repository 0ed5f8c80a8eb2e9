export { scaffolderModuleFediversity as default } from './module';
