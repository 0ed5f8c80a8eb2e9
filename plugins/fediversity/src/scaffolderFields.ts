import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';

/** Live placement pickers (nodes with free memory and CPU, storages with free space) for the provisioning form. */
export const nodePickerField = FormFieldBlueprint.make({
  name: 'fediversity-node-picker',
  params: { field: () => import('./components/fields/formFields').then(m => m.nodePickerFormField) },
});

export const storagePickerField = FormFieldBlueprint.make({
  name: 'fediversity-storage-picker',
  params: { field: () => import('./components/fields/formFields').then(m => m.storagePickerFormField) },
});

/**
 * Installs the pickers into the scaffolder (they attach to its form-fields API), for apps of the new frontend
 * system: `createApp({ features: [scaffolderPlugin, fediversityPlugin, fediversityScaffolderModule] })`.
 */
export const fediversityScaffolderModule = createFrontendModule({
  pluginId: 'scaffolder',
  extensions: [nodePickerField, storagePickerField],
});
