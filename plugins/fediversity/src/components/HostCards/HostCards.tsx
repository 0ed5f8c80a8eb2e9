import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { catalogApiRef, useEntity } from '@backstage/plugin-catalog-react';
import { Flex, Text } from '@backstage/ui';
import {
  ANNOTATION_PVE_CLUSTER,
  ANNOTATION_PVE_NODE,
  ANNOTATION_PVE_STORAGE,
  ANNOTATION_PVE_VMID,
} from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef, NodeStorageUsage } from '../../api';
import { CardFrame, ErrorAlert, formatBytes, Loading, RefLink, usePolled } from '../common';

const annotation = (e: Entity, key: string) => e.metadata.annotations?.[key];

/** Guests on a Proxmox node, with the instance running in each, from the catalog. */
export function NodeGuestsCard() {
  const { entity } = useEntity();
  const catalogApi = useApi(catalogApiRef);
  const cluster = annotation(entity, ANNOTATION_PVE_CLUSTER);
  const node = annotation(entity, ANNOTATION_PVE_NODE);
  const state = usePolled(
    async () => {
      const filter = { [`metadata.annotations.${ANNOTATION_PVE_CLUSTER}`]: cluster!, [`metadata.annotations.${ANNOTATION_PVE_NODE}`]: node! };
      const [guests, instances] = await Promise.all([
        catalogApi.getEntities({ filter: { ...filter, kind: 'Resource', 'spec.type': ['lxc-container', 'vm'] } }),
        catalogApi.getEntities({ filter: { ...filter, kind: 'Component', 'spec.type': 'service' } }),
      ]);
      return { guests: guests.items, instances: instances.items };
    },
    30_000,
    [catalogApi, cluster, node],
  );
  let body;
  if (!cluster || !node) body = <Text color="secondary">This entity names no Proxmox node.</Text>;
  else if (state.error) body = <ErrorAlert title="Could not list the node's guests" error={state.error} />;
  else if (!state.value) body = <Loading what="guests" />;
  else if (state.value.guests.length === 0) body = <Text color="secondary">No guests on {node}.</Text>;
  else {
    const instanceOf = (vmid?: string) => state.value!.instances.find(i => annotation(i, ANNOTATION_PVE_VMID) === vmid);
    body = (
      <table aria-label={`Guests on ${node}`} style={{ width: '100%', borderCollapse: 'collapse' }}>
        <thead>
          <tr>
            <th align="left">Guest</th>
            <th align="left">Type</th>
            <th align="left">Instance</th>
            <th align="left">Storage</th>
            <th align="left">State</th>
          </tr>
        </thead>
        <tbody>
          {state.value.guests.map(g => {
            const instance = instanceOf(annotation(g, ANNOTATION_PVE_VMID));
            return (
              <tr key={g.metadata.name}>
                <td>
                  <RefLink entityRef={stringifyEntityRef(g)} />
                </td>
                <td>{String(g.spec?.type)}</td>
                <td>{instance ? <RefLink entityRef={stringifyEntityRef(instance)} /> : '—'}</td>
                <td>{annotation(g, ANNOTATION_PVE_STORAGE) ?? '—'}</td>
                <td>{/, (running|stopped)/.exec(g.metadata.description ?? '')?.[1] ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    );
  }
  return <CardFrame title="Guests">{body}</CardFrame>;
}

/**
 * Storage usage as Proxmox reports it now. On a node: every storage the node sees. On a storage pool: that
 * storage (a shared one through any node of its cluster), and the instances whose data lives on it.
 */
export function StorageUsageCard() {
  const { entity } = useEntity();
  const api = useApi(fediversityApiRef);
  const catalogApi = useApi(catalogApiRef);
  const cluster = annotation(entity, ANNOTATION_PVE_CLUSTER);
  const storageId = annotation(entity, ANNOTATION_PVE_STORAGE);
  const isPool = entity.spec?.type === 'storage-pool';
  const state = usePolled(
    async () => {
      let node = annotation(entity, ANNOTATION_PVE_NODE);
      if (!node && cluster) {
        const nodes = await catalogApi.getEntities({
          filter: { kind: 'Resource', 'spec.type': 'proxmox-node', [`metadata.annotations.${ANNOTATION_PVE_CLUSTER}`]: cluster },
        });
        node = nodes.items.map(n => annotation(n, ANNOTATION_PVE_NODE)).find(Boolean);
      }
      if (!cluster || !node) return { storages: [] as NodeStorageUsage[], instances: [] as Entity[], node };
      const storages = (await api.listNodeStorage({ cluster, node })).filter(s => !isPool || s.storage === storageId);
      const instances = isPool
        ? (
            await catalogApi.getEntities({
              filter: { kind: 'Component', 'spec.type': 'service', [`metadata.annotations.${ANNOTATION_PVE_CLUSTER}`]: cluster, [`metadata.annotations.${ANNOTATION_PVE_STORAGE}`]: storageId! },
            })
          ).items
        : [];
      return { storages, instances, node };
    },
    30_000,
    [api, catalogApi, stringifyEntityRef(entity)],
  );
  let body;
  if (state.error) body = <ErrorAlert title="Could not read storage usage from Proxmox" error={state.error} />;
  else if (!state.value) body = <Loading what="storage usage" />;
  else if (state.value.storages.length === 0) body = <Text color="secondary">Proxmox reports no storage here.</Text>;
  else
    body = (
      <Flex direction="column" gap="2">
        {state.value.storages.map(s => (
          <label key={s.storage}>
            <Text>
              {s.storage} ({s.type}{s.shared ? ', shared' : ''}): {formatBytes(s.usedBytes)} of {formatBytes(s.totalBytes)} used
            </Text>
            <br />
            <progress aria-label={`Usage of ${s.storage}`} max={s.totalBytes ?? 1} value={s.usedBytes ?? 0} style={{ width: '100%' }} />
          </label>
        ))}
        {isPool && (
          <section aria-label="Instances on this storage">
            <Text weight="bold">Instances on this storage</Text>
            {state.value.instances.length === 0 ? (
              <Text color="secondary"> None.</Text>
            ) : (
              <ul style={{ margin: 0 }}>
                {state.value.instances.map(i => (
                  <li key={i.metadata.name}>
                    <RefLink entityRef={stringifyEntityRef(i)} />
                  </li>
                ))}
              </ul>
            )}
          </section>
        )}
      </Flex>
    );
  return <CardFrame title="Storage usage">{body}</CardFrame>;
}
