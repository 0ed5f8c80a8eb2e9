import { InputError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { DnsSetup, PveCluster, PveClustersService, RenderedFile } from '@fediversity/plugin-fediversity-node';
import { FediversityBackend } from '../lib/backendClient';
import { GuestAccess } from '../lib/guestAccess';
import { ReplicationTarget } from '../lib/replicationTarget';

/** Everything the fediversity:* actions use, injected by the module (or a test). */
export interface FediversityActionDeps {
  clusters: PveClustersService;
  guestAccess: GuestAccess;
  /** Undefined when `fediversity.dns` is not configured (the embedded default). */
  dns?: DnsSetup;
  backend: FediversityBackend;
  /** Where new instances replicate to (`fediversity.provisioning.replicationTarget`); demo clusters have a default. */
  replicationTarget?: ReplicationTarget;
  /** Catalog reads (for the initiator): jobs are authorised against entities, which must exist first. */
  catalog: Pick<CatalogService, 'getEntityByRef'>;
  /** The flake's own files (the repository's nix/), uploaded next to every host description. */
  flakeFiles(): Promise<RenderedFile[]>;
  /** Waits, shortened by tests. */
  timing?: {
    /** First interval of the reachability poll; it grows by half up to 5 s. */
    pollInitialMs?: number;
    /** How often long steps log that they are still running. */
    heartbeatMs?: number;
  };
}

/** The named cluster, or the only/first one when none is named. */
export function pickCluster(clusters: PveClustersService, name?: string): PveCluster {
  if (name) return clusters.get(name);
  const [first] = clusters.list();
  if (!first) throw new InputError('cluster: no Proxmox cluster is configured');
  return first;
}
