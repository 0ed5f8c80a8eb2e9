import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { FediversityNodePicker, NODE_PICKER_NAME, validateNodeChoice } from './FediversityNodePicker';
import { FediversityStoragePicker, STORAGE_PICKER_NAME, validateStorageChoice } from './FediversityStoragePicker';

/** The placement pickers as form fields of the new frontend system (loaded when the scaffolder needs them). */
export const nodePickerFormField = createFormField({
  name: NODE_PICKER_NAME,
  component: FediversityNodePicker,
  validation: validateNodeChoice,
});

export const storagePickerFormField = createFormField({
  name: STORAGE_PICKER_NAME,
  component: FediversityStoragePicker,
  validation: validateStorageChoice,
});
