import { LoggerService } from '@backstage/backend-plugin-api';
import { ClusterResource, PveClient } from '@fediversity/plugin-fediversity-node';
import { ClusterInventory } from './buildEntities';

export interface ReadInventoryOptions {
  logger: LoggerService;
  /** Storage listings in flight at once. */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Reads a cluster's inventory with a number of API calls that does not depend on the number of guests: one
 * /cluster/resources for nodes, storages and guests, plus one volume listing per storage that can hold guest disks
 * (shared storages once), because no cluster-wide call says which storage a guest's disks live on and reading
 * each guest's config would cost one call per guest. A storage that cannot be listed (node offline) only loses
 * its guest→storage relations; it is logged, not fatal.
 */
export async function readClusterInventory(
  client: PveClient,
  options: ReadInventoryOptions,
): Promise<ClusterInventory> {
  const { logger, signal } = options;
  const resources = await client.getClusterResources(undefined, { signal });
  const onlineNodes = new Set(
    resources.filter(r => r.type === 'node' && r.status === 'online').map(r => r.node),
  );
  const listings = guestStorageListings(resources, onlineNodes);

  const volumesByVmid = new Map<number, string[]>();
  await forEachLimited(listings, options.concurrency ?? 8, async ({ node, storage }) => {
    try {
      const volumes = await client.listStorageContent(node, storage, {}, { signal });
      for (const volume of volumes) {
        if (volume.vmid === undefined || !/^(images|rootdir)$/.test(volume.content ?? 'images')) {
          continue;
        }
        const vmid = Number(volume.vmid);
        const list = volumesByVmid.get(vmid) ?? [];
        list.push(volume.volid);
        volumesByVmid.set(vmid, list);
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      logger.warn(
        `Could not list storage ${storage} on node ${node}; its guests lose their storage relations this round: ${error}`,
      );
    }
  });

  const guestStorages = new Map<number, string[]>();
  for (const [vmid, volids] of volumesByVmid) {
    guestStorages.set(vmid, storagesRootDiskFirst(volids));
  }
  return { resources, guestStorages };
}

/** One listing per local storage and node, one per shared storage, only where guest disks can live. */
function guestStorageListings(
  resources: ClusterResource[],
  onlineNodes: Set<string | undefined>,
): Array<{ node: string; storage: string }> {
  const listings: Array<{ node: string; storage: string }> = [];
  const sharedSeen = new Set<string>();
  for (const r of resources) {
    if (r.type !== 'storage' || !r.storage || !r.node || !onlineNodes.has(r.node)) continue;
    if (r.status && r.status !== 'available') continue;
    const content = (r.content ?? '').split(',');
    if (!content.includes('rootdir') && !content.includes('images')) continue;
    if (r.shared === 1 || r.shared === true) {
      if (sharedSeen.has(r.storage)) continue;
      sharedSeen.add(r.storage);
    }
    listings.push({ node: r.node, storage: r.storage });
  }
  return listings;
}

/** Storage ids of a guest's volumes, the one holding disk 0 (the root disk by PVE's naming) first. */
function storagesRootDiskFirst(volids: string[]): string[] {
  const sorted = [...volids].sort((a, b) => diskIndex(a) - diskIndex(b) || a.localeCompare(b));
  return [...new Set(sorted.map(volid => volid.split(':')[0]))];
}

function diskIndex(volid: string): number {
  const match = /-disk-(\d+)(\.\w+)?$/.exec(volid);
  return match ? Number(match[1]) : Number.MAX_SAFE_INTEGER;
}

async function forEachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
