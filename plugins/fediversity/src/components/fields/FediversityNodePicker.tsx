import { useApi } from '@backstage/core-plugin-api';
import { CustomFieldValidator, FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import useAsync from 'react-use/esm/useAsync';
import { fediversityApiRef } from '../../api';
import { nodeLabel, nodeMisfit, onlineNodesByFreeMemory } from './capacity';
import { PickerField } from './PickerField';
import { formValue, resolveCluster } from './placement';

export interface NodePickerUiOptions {
  /** Cluster whose nodes are listed; the first configured one by default. */
  cluster?: string;
  /** The form field holding the memory asked for, in MiB (default `memoryMiB`); checked against free memory. */
  memoryField?: string;
}

export const NODE_PICKER_NAME = 'FediversityNodePicker';

/**
 * Picks the Proxmox node of a new guest from live data: the cluster's online nodes with free memory and CPU load,
 * the one automatic placement would take first. The value is the node name, or '' for automatic placement.
 */
export function FediversityNodePicker(props: FieldExtensionComponentProps<string, NodePickerUiOptions>) {
  const { formData, onChange, schema, uiSchema, rawErrors, idSchema, formContext } = props;
  const api = useApi(fediversityApiRef);
  const options = uiSchema?.['ui:options'] ?? {};
  const live = useAsync(async () => {
    const cluster = await resolveCluster(api, options.cluster);
    return { cluster, nodes: onlineNodesByFreeMemory(await api.listNodes(cluster)) };
  }, [api, options.cluster]);

  const value = formData ?? '';
  const chosen = live.value?.nodes.find(node => node.node === value);
  const memoryMiB = formValue(formContext?.formData, options.memoryField ?? 'memoryMiB');
  return (
    <PickerField
      id={idSchema?.$id ?? 'fediversity-node'}
      label={schema.title ?? 'Node'}
      description={live.value ? `Online nodes of cluster ${live.value.cluster}, most free memory first.` : schema.description}
      value={value}
      automaticLabel="Automatic: the node with the most free memory"
      options={(live.value?.nodes ?? []).map(node => ({ value: node.node, label: nodeLabel(node) }))}
      loading={live.loading}
      loadError={live.error ? `Could not list the nodes: ${live.error.message}.` : undefined}
      warning={chosen ? nodeMisfit(chosen, memoryMiB) : undefined}
      rawErrors={rawErrors}
      onChange={onChange}
    />
  );
}

/** Refuses, before the task starts, a node that is not online or lacks the memory asked for on the same page. */
export const validateNodeChoice: CustomFieldValidator<string, NodePickerUiOptions> = async (value, validation, context) => {
  if (!value) return;
  const api = context.apiHolder.get(fediversityApiRef);
  if (!api) return;
  const options = context.uiSchema?.['ui:options'] ?? {};
  const cluster = await resolveCluster(api, options.cluster);
  const node = (await api.listNodes(cluster)).find(candidate => candidate.node === value);
  if (!node) {
    validation.addError(`${value} is not a node of cluster ${cluster}`);
    return;
  }
  const misfit = nodeMisfit(node, formValue(context.formData, options.memoryField ?? 'memoryMiB'));
  if (misfit) validation.addError(misfit);
};
