import { useApi } from '@backstage/core-plugin-api';
import { CustomFieldValidator, FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import useAsync from 'react-use/esm/useAsync';
import { fediversityApiRef } from '../../api';
import { containerDiskStorages, storageLabel, storageMisfit } from './capacity';
import { PickerField } from './PickerField';
import { formValue, resolveCluster } from './placement';

export interface StoragePickerUiOptions {
  cluster?: string;
  /** The form field holding the chosen node (default `node`). */
  nodeField?: string;
  /** The form field holding the root disk size in GiB (default `diskGiB`); checked against free space. */
  sizeField?: string;
}

export const STORAGE_PICKER_NAME = 'FediversityStoragePicker';

/**
 * Picks the storage of a new guest's root disk from live data: the chosen node's active storages that hold
 * container disks, with their free space. The value is the storage id, or '' for the one with the most free space.
 */
export function FediversityStoragePicker(props: FieldExtensionComponentProps<string, StoragePickerUiOptions>) {
  const { formData, onChange, schema, uiSchema, rawErrors, idSchema, formContext } = props;
  const api = useApi(fediversityApiRef);
  const options = uiSchema?.['ui:options'] ?? {};
  const node = formValue(formContext?.formData, options.nodeField ?? 'node');
  const live = useAsync(async () => {
    if (typeof node !== 'string' || !node) return undefined;
    const cluster = await resolveCluster(api, options.cluster);
    return { node, storages: containerDiskStorages(await api.listNodeStorage({ cluster, node })) };
  }, [api, options.cluster, node]);

  const value = formData ?? '';
  const chosen = live.value?.storages.find(storage => storage.storage === value);
  const diskGiB = formValue(formContext?.formData, options.sizeField ?? 'diskGiB');
  return (
    <PickerField
      id={idSchema?.$id ?? 'fediversity-storage'}
      label={schema.title ?? 'Storage'}
      description={
        live.value
          ? `Storages of ${live.value.node} that hold container disks, most free space first.`
          : 'Choose a node first to pick one of its storages.'
      }
      value={value}
      automaticLabel="Automatic: the storage with the most free space"
      options={(live.value?.storages ?? []).map(storage => ({ value: storage.storage, label: storageLabel(storage) }))}
      disabled={!node}
      loading={live.loading}
      loadError={live.error ? `Could not list the storages of ${String(node)}: ${live.error.message}.` : undefined}
      warning={chosen ? storageMisfit(chosen, diskGiB) : undefined}
      rawErrors={rawErrors}
      onChange={onChange}
    />
  );
}

/** Refuses a storage the chosen node lacks, that holds no container disks, or without room for the disk asked for. */
export const validateStorageChoice: CustomFieldValidator<string, StoragePickerUiOptions> = async (value, validation, context) => {
  if (!value) return;
  const options = context.uiSchema?.['ui:options'] ?? {};
  const node = formValue(context.formData, options.nodeField ?? 'node');
  if (typeof node !== 'string' || !node) {
    validation.addError(`Choose a node for ${value}, or leave the storage on automatic`);
    return;
  }
  const api = context.apiHolder.get(fediversityApiRef);
  if (!api) return;
  const cluster = await resolveCluster(api, options.cluster);
  const storage = containerDiskStorages(await api.listNodeStorage({ cluster, node })).find(candidate => candidate.storage === value);
  if (!storage) {
    validation.addError(`${value} is not a storage of ${node} that holds container disks`);
    return;
  }
  const misfit = storageMisfit(storage, formValue(context.formData, options.sizeField ?? 'diskGiB'));
  if (misfit) validation.addError(misfit);
};
