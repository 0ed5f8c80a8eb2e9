import {
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { PveClient } from './PveClient';

/** One Proxmox VE cluster the portal manages. */
export interface PveCluster {
  /** Configured short name (`demo` for the embedded simulator). */
  name: string;
  client: PveClient;
  /** True for the embedded simulator: entities get the demo annotation. */
  demo: boolean;
}

/** The configured clusters, shared by the catalog provider, the fediversity plugin and scaffolder actions. */
export interface PveClustersService {
  list(): PveCluster[];
  /** Throws NotFoundError for an unknown name. */
  get(name: string): PveCluster;
}

/**
 * Root-scoped, so every plugin (catalog, scaffolder, fediversity) shares one set of clients and, by default, one
 * embedded simulator. The backend provides it with `pveClustersServiceFactory` from
 * `@fediversity/plugin-fediversity-backend`; tests can use {@link staticPveClustersServiceFactory}.
 */
export const pveClustersServiceRef = createServiceRef<PveClustersService>({
  id: 'fediversity.pve-clusters',
  scope: 'root',
});

export class StaticPveClusters implements PveClustersService {
  private readonly byName: Map<string, PveCluster>;

  constructor(clusters: PveCluster[]) {
    this.byName = new Map(clusters.map(cluster => [cluster.name, cluster]));
  }

  list(): PveCluster[] {
    return [...this.byName.values()];
  }

  get(name: string): PveCluster {
    const cluster = this.byName.get(name);
    if (!cluster) throw new NotFoundError(`No Proxmox cluster named ${name}`);
    return cluster;
  }
}

/** A factory for fixed clusters, e.g. a test's simulator: `startTestBackend({ features: [staticPveClustersServiceFactory([...])] })`. */
export function staticPveClustersServiceFactory(clusters: PveCluster[]) {
  return createServiceFactory({
    service: pveClustersServiceRef,
    deps: {},
    factory: () => new StaticPveClusters(clusters),
  });
}
