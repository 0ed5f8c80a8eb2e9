import type { GuestAccess, PveClustersService } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';

/**
 * The key replication runs log in to hosts with: `fediversity.replication.sshPrivateKey`, or, when that is not
 * configured and the embedded demo cluster runs, the portal's demo client key (the one the demo host server
 * accepts, as provisioning uses it), so the demo's schedules run without a key in any config file.
 */
export function replicationPrivateKey(options: {
  configured?: string;
  clusters: PveClustersService;
  guestAccess: GuestAccess;
}): () => Promise<string> {
  const { configured, clusters, guestAccess } = options;
  return async () => {
    if (configured) return configured;
    const demo = clusters.list().find(cluster => cluster.demo);
    if (!demo) throw new PermanentJobError('fediversity.replication.sshPrivateKey is not configured');
    return (await guestAccess.clientKey(demo)).privateKey;
  };
}
