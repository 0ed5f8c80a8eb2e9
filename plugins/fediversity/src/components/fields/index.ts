export { FediversityNodePicker, validateNodeChoice, NODE_PICKER_NAME, type NodePickerUiOptions } from './FediversityNodePicker';
export {
  FediversityStoragePicker,
  validateStorageChoice,
  STORAGE_PICKER_NAME,
  type StoragePickerUiOptions,
} from './FediversityStoragePicker';
