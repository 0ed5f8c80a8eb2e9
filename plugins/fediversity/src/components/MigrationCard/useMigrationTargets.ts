import { Entity } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import {
  ANNOTATION_PVE_CLUSTER,
  ANNOTATION_PVE_NODE,
  ANNOTATION_PVE_STORAGE,
} from '@fediversity/plugin-fediversity-common';
import useAsync from 'react-use/esm/useAsync';

export interface TargetNode {
  cluster: string;
  node: string;
  /** Storages usable on this node: its own and the cluster's shared ones. */
  storages: string[];
}

/** Nodes and storages the Proxmox provider put in the catalog; another cluster stands for another provider. */
export function useMigrationTargets() {
  const catalogApi = useApi(catalogApiRef);
  return useAsync(async () => {
    const { items } = await catalogApi.getEntities({
      filter: { kind: 'Resource', 'spec.type': ['proxmox-node', 'storage-pool'] },
    });
    return targetsFrom(items);
  }, [catalogApi]);
}

export function targetsFrom(entities: Entity[]): TargetNode[] {
  const annotation = (e: Entity, key: string) => e.metadata.annotations?.[key];
  const nodes = entities.filter(e => e.spec?.type === 'proxmox-node');
  const storages = entities.filter(e => e.spec?.type === 'storage-pool');
  return nodes
    .map(nodeEntity => {
      const cluster = annotation(nodeEntity, ANNOTATION_PVE_CLUSTER) ?? '';
      const node = annotation(nodeEntity, ANNOTATION_PVE_NODE) ?? nodeEntity.metadata.name;
      const usable = storages
        .filter(s => annotation(s, ANNOTATION_PVE_CLUSTER) === cluster)
        .filter(s => {
          const on = annotation(s, ANNOTATION_PVE_NODE);
          return on === undefined || on === node;
        })
        .map(s => annotation(s, ANNOTATION_PVE_STORAGE))
        .filter((s): s is string => !!s);
      return { cluster, node, storages: [...new Set(usable)].sort() };
    })
    .filter(t => t.cluster)
    .sort((a, b) => `${a.cluster}/${a.node}`.localeCompare(`${b.cluster}/${b.node}`));
}
