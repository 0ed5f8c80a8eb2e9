import { Entity } from '@backstage/catalog-model';
import {
  ANNOTATION_APP,
  ANNOTATION_DEMO,
  ANNOTATION_FLAKE,
  ANNOTATION_INSTANCE_ID,
  ANNOTATION_PVE_CLUSTER,
  ANNOTATION_PVE_NODE,
  ANNOTATION_PVE_STORAGE,
  ANNOTATION_PVE_VMID,
} from '@fediversity/plugin-fediversity-common';
import type { InstanceRecord } from '../../instances/types';

/** Written to the managed-by annotations; stable, since the catalog keys provider output by it. */
export const INSTANCES_LOCATION = 'fediversity-instances:default';

/**
 * One running instance as a Component of type `service`: it depends on its guest and storage (the Proxmox
 * provider's entities) and on the core services of its app definition; the entity processor adds the relation
 * to the app definition from `fediversity.eu/app`. Pure. Nothing secret is in a record; SSH details stay out anyway.
 */
export function buildInstanceEntity(instance: InstanceRecord): Entity {
  const annotations: Record<string, string> = {
    'backstage.io/managed-by-location': INSTANCES_LOCATION,
    'backstage.io/managed-by-origin-location': INSTANCES_LOCATION,
    [ANNOTATION_APP]: instance.app,
    [ANNOTATION_INSTANCE_ID]: instance.id,
    [ANNOTATION_PVE_CLUSTER]: instance.cluster,
    [ANNOTATION_PVE_NODE]: instance.node,
    [ANNOTATION_PVE_VMID]: String(instance.vmid),
    [ANNOTATION_PVE_STORAGE]: instance.storage,
  };
  if (instance.flakeRef) annotations[ANNOTATION_FLAKE] = instance.flakeRef;
  if (instance.demo) annotations[ANNOTATION_DEMO] = 'true';
  const appName = instance.app.split('/').pop()!;
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: instance.name,
      title: `${appName} at ${instance.domain}`,
      description: `${appName} instance on ${instance.cluster}/${instance.node}, guest ${instance.vmid} (${instance.os}).`,
      annotations,
      tags: [appName, instance.os],
      links: [{ url: `https://${instance.domain}/`, title: instance.domain }],
    },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: instance.owner,
      dependsOn: [...new Set([instance.guestRef, instance.storageRef, ...instance.coreServices])],
    },
  };
}
