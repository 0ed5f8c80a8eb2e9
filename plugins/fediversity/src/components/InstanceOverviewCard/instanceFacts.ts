import { Entity, parseEntityRef } from '@backstage/catalog-model';
import {
  ANNOTATION_APP,
  ANNOTATION_DEMO,
  ANNOTATION_FLAKE,
  ANNOTATION_PVE_CLUSTER,
  ANNOTATION_PVE_NODE,
  ANNOTATION_PVE_STORAGE,
  ANNOTATION_PVE_VMID,
} from '@fediversity/plugin-fediversity-common';

/** The placement and identity of a running instance, read from its catalog entity (what the provider wrote). */
export interface InstanceFacts {
  app?: string;
  appVersion?: string;
  domain?: string;
  owner?: string;
  cluster?: string;
  node?: string;
  vmid?: number;
  storage?: string;
  guestRef?: string;
  coreServices: string[];
  flakeRef?: string;
  nixosGeneration?: string;
  monitoringLinks: Array<{ url: string; title: string }>;
  demo: boolean;
}

/** Annotations the deploy step may add; read when present. */
export const ANNOTATION_APP_VERSION = 'fediversity.eu/app-version';
export const ANNOTATION_NIXOS_GENERATION = 'fediversity.eu/nixos-generation';

export function readInstanceFacts(entity: Entity): InstanceFacts {
  const annotations = entity.metadata.annotations ?? {};
  const vmid = Number(annotations[ANNOTATION_PVE_VMID]);
  const dependsOn = ((entity.spec?.dependsOn as string[] | undefined) ?? []).filter(Boolean);
  const kindOf = (ref: string) => {
    try {
      return parseEntityRef(ref, { defaultKind: 'component' }).kind.toLocaleLowerCase('en-US');
    } catch {
      return '';
    }
  };
  const links = entity.metadata.links ?? [];
  const isMonitoring = (link: { title?: string; icon?: string; type?: string }) =>
    /monitor|grafana|dashboard|metrics|alert/i.test(`${link.title ?? ''} ${link.icon ?? ''} ${link.type ?? ''}`);
  const guestRef = dependsOn.find(ref => kindOf(ref) === 'resource' && /-(ct|vm)-\d+$/.test(ref));
  return {
    app: annotations[ANNOTATION_APP],
    appVersion: annotations[ANNOTATION_APP_VERSION],
    domain: links.find(link => !isMonitoring(link))?.title,
    owner: entity.spec?.owner as string | undefined,
    cluster: annotations[ANNOTATION_PVE_CLUSTER],
    node: annotations[ANNOTATION_PVE_NODE],
    vmid: Number.isInteger(vmid) && vmid > 0 ? vmid : undefined,
    storage: annotations[ANNOTATION_PVE_STORAGE],
    guestRef,
    coreServices: dependsOn.filter(ref => kindOf(ref) === 'component'),
    flakeRef: annotations[ANNOTATION_FLAKE],
    nixosGeneration: annotations[ANNOTATION_NIXOS_GENERATION],
    monitoringLinks: links.filter(isMonitoring).map(link => ({ url: link.url, title: link.title ?? link.url })),
    demo: annotations[ANNOTATION_DEMO] === 'true',
  };
}
