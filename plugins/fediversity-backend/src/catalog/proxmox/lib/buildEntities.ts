import { Entity } from '@backstage/catalog-model';
import {
  ANNOTATION_DEMO,
  ANNOTATION_PVE_CLUSTER,
  ANNOTATION_PVE_NODE,
  ANNOTATION_PVE_STORAGE,
  ANNOTATION_PVE_VMID,
} from '@fediversity/plugin-fediversity-common';
import { ClusterResource, parseTags } from '@fediversity/plugin-fediversity-node';
import {
  clusterEntityName,
  guestEntityName,
  nodeEntityName,
  resourceRef,
  storageEntityName,
} from './entityNames';
import { DEFAULT_OWNER, ownerOf } from './ownerOf';

/** What one refresh read from a cluster. */
export interface ClusterInventory {
  /** GET /cluster/resources, all types. */
  resources: ClusterResource[];
  /** Per vmid, the storages holding its volumes, the root disk's storage first. */
  guestStorages: Map<number, string[]>;
}

export interface BuildEntitiesOptions {
  cluster: string;
  demo: boolean;
  /** `fediversity-proxmox:<cluster>`, written to the managed-by annotations. */
  location: string;
}

const BACKSTAGE_TAG = /^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$/;

/** Turns one cluster's inventory into catalog entities (cluster, nodes, storages, guests). Pure. */
export function buildEntities(inventory: ClusterInventory, options: BuildEntitiesOptions): Entity[] {
  const { cluster } = options;
  const commonAnnotations: Record<string, string> = {
    'backstage.io/managed-by-location': options.location,
    'backstage.io/managed-by-origin-location': options.location,
    [ANNOTATION_PVE_CLUSTER]: cluster,
    ...(options.demo ? { [ANNOTATION_DEMO]: 'true' } : {}),
  };
  const resource = (
    name: string,
    spec: { type: string; owner: string; dependsOn?: string[] },
    metadata: { title: string; description: string; annotations: Record<string, string>; tags?: string[] },
  ): Entity => {
    const entity: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Resource',
      metadata: {
        name,
        title: metadata.title,
        description: metadata.description,
        annotations: { ...commonAnnotations, ...metadata.annotations },
      },
      spec: { type: spec.type, owner: spec.owner },
    };
    // Entities are validated as JSON: optional fields are left out, never undefined.
    if (metadata.tags?.length) entity.metadata.tags = metadata.tags;
    if (spec.dependsOn?.length) entity.spec!.dependsOn = spec.dependsOn;
    return entity;
  };
  const clusterRef = resourceRef(clusterEntityName(cluster));

  const nodes = inventory.resources.filter(r => r.type === 'node' && r.node);
  const storages = inventory.resources.filter(r => r.type === 'storage' && r.storage && r.node);
  const guests = inventory.resources.filter(
    r => (r.type === 'lxc' || r.type === 'qemu') && r.vmid !== undefined && r.node,
  );
  const sharedStorages = new Set(storages.filter(s => truthy(s.shared)).map(s => s.storage!));
  const storageRef = (storage: string, node: string) =>
    resourceRef(
      storageEntityName(
        cluster,
        storage,
        sharedStorages.has(storage) ? { shared: true } : { shared: false, node },
      ),
    );

  const entities: Entity[] = [
    resource(
      clusterEntityName(cluster),
      { type: 'proxmox-cluster', owner: DEFAULT_OWNER },
      {
        title: `Proxmox cluster ${cluster}`,
        description: `${nodes.length} nodes, ${guests.length} guests`,
        annotations: {},
      },
    ),
  ];

  for (const node of nodes) {
    entities.push(
      resource(
        nodeEntityName(cluster, node.node!),
        { type: 'proxmox-node', owner: DEFAULT_OWNER, dependsOn: [clusterRef] },
        {
          title: node.node!,
          description: `Proxmox node ${node.node} (${node.status ?? 'unknown'})`,
          annotations: { [ANNOTATION_PVE_NODE]: node.node! },
        },
      ),
    );
  }

  const emittedShared = new Set<string>();
  for (const storage of storages) {
    const id = storage.storage!;
    const shared = sharedStorages.has(id);
    if (shared && emittedShared.has(id)) continue;
    if (shared) emittedShared.add(id);
    entities.push(
      resource(
        storageEntityName(cluster, id, shared ? { shared } : { shared, node: storage.node! }),
        {
          type: 'storage-pool',
          owner: DEFAULT_OWNER,
          dependsOn: [shared ? clusterRef : resourceRef(nodeEntityName(cluster, storage.node!))],
        },
        {
          title: shared ? id : `${id} on ${storage.node}`,
          description: `${storage.plugintype ?? 'storage'} storage (${storage.content ?? 'no content'})`,
          annotations: {
            [ANNOTATION_PVE_STORAGE]: id,
            ...(shared ? {} : { [ANNOTATION_PVE_NODE]: storage.node! }),
          },
        },
      ),
    );
  }

  for (const guest of guests) {
    const type = guest.type as 'lxc' | 'qemu';
    const vmid = guest.vmid!;
    const guestStorages = inventory.guestStorages.get(vmid) ?? [];
    entities.push(
      resource(
        guestEntityName(cluster, type, vmid),
        {
          type: type === 'lxc' ? 'lxc-container' : 'vm',
          owner: ownerOf(guest),
          dependsOn: [
            resourceRef(nodeEntityName(cluster, guest.node!)),
            ...guestStorages.map(storage => storageRef(storage, guest.node!)),
          ],
        },
        {
          title: guest.name ? `${guest.name} (${vmid})` : `${type === 'lxc' ? 'CT' : 'VM'} ${vmid}`,
          description: `${type === 'lxc' ? 'Container' : 'VM'} ${vmid} on ${guest.node}, ${
            guest.status ?? 'unknown'
          }${truthy(guest.template) ? ', template' : ''}`,
          annotations: {
            [ANNOTATION_PVE_NODE]: guest.node!,
            [ANNOTATION_PVE_VMID]: String(vmid),
            ...(guestStorages.length ? { [ANNOTATION_PVE_STORAGE]: guestStorages[0] } : {}),
          },
          tags: parseTags(guest.tags)
            .map(tag => tag.toLowerCase())
            .filter(tag => BACKSTAGE_TAG.test(tag) && tag.length <= 63),
        },
      ),
    );
  }
  return entities;
}

function truthy(value: number | boolean | string | undefined): boolean {
  return value === true || value === 1 || value === '1';
}

