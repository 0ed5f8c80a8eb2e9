import { FediversityUiApi } from '../../api';

/** The cluster named in ui:options, else the first configured one (where provisioning puts a guest by default). */
export async function resolveCluster(api: Pick<FediversityUiApi, 'listClusters'>, named?: string): Promise<string> {
  if (named) return named;
  const [first] = await api.listClusters();
  if (!first) throw new Error('No Proxmox cluster is configured');
  return first.name;
}

/** A form value of the same page (the validators only see the current page's values). */
export function formValue(formData: unknown, field: string): unknown {
  return formData && typeof formData === 'object' ? (formData as Record<string, unknown>)[field] : undefined;
}
