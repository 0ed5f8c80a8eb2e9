import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import {
  FediversityNodePicker,
  FediversityStoragePicker,
  NODE_PICKER_NAME,
  STORAGE_PICKER_NAME,
  validateNodeChoice,
  validateStorageChoice,
} from './components/fields';
import { fediversityPlugin } from './plugin';

/**
 * The placement pickers for apps of the legacy frontend system, inside `<ScaffolderFieldExtensions>`:
 * `<FediversityNodePickerFieldExtension />` and `<FediversityStoragePickerFieldExtension />`.
 */
export const FediversityNodePickerFieldExtension = fediversityPlugin.provide(
  createScaffolderFieldExtension({ name: NODE_PICKER_NAME, component: FediversityNodePicker, validation: validateNodeChoice }),
);

export const FediversityStoragePickerFieldExtension = fediversityPlugin.provide(
  createScaffolderFieldExtension({ name: STORAGE_PICKER_NAME, component: FediversityStoragePicker, validation: validateStorageChoice }),
);
