import { PveCluster, PveClustersService, StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { listInstanceBackups } from './instanceBackups';

const CURRENT = { cluster: 'demo', node: 'pve-a', vmid: 101 };
const FORMER = [
  { cluster: 'demo', node: 'pve-b', vmid: 102 },
  { cluster: 'demo', node: 'pve-c', vmid: 103 },
];

/**
 * A cluster whose storage listings wait until the test lets them answer, so a test sees which listings had
 * started before any finished. Node `pve-a` answers at once (the current guest).
 */
function heldCluster() {
  const started: string[] = [];
  const release: Array<() => void> = [];
  const client = {
    listStorages: async (node: string) => {
      started.push(node);
      if (node !== 'pve-a') await new Promise<void>(resolve => release.push(resolve));
      return [{ storage: 'local' }];
    },
    listBackups: async (_node: string, storage: string, vmid: number) => [
      { volid: `${storage}:backup/vzdump-lxc-${vmid}-2026_11_25-02_00_00.tar.zst`, ctime: vmid },
    ],
    listSnapshots: async () => [],
  };
  const clusters: PveClustersService = new StaticPveClusters([{ name: 'demo', client } as unknown as PveCluster]);
  return { clusters, started, releaseAll: () => release.forEach(resolve => resolve()) };
}

describe('listInstanceBackups', () => {
  it('lists the former guests at the same time, not one after the other', async () => {
    const { clusters, started, releaseAll } = heldCluster();
    const listing = listInstanceBackups(clusters, { current: CURRENT, former: FORMER });
    // Let every listing that can start do so; none of the former guests' has answered yet.
    await new Promise(resolve => setImmediate(resolve));
    expect(started.sort()).toEqual(['pve-a', 'pve-b', 'pve-c']);
    releaseAll();
    const { items, unavailable } = await listing;
    expect(unavailable).toEqual([]);
    expect(items.map(item => [item.guest.vmid, item.former ?? false])).toEqual([
      [103, true],
      [102, true],
      [101, false],
    ]);
  });

  it("names only the error's kind for failures that are not Proxmox's answers", async () => {
    const client = {
      listStorages: async (node: string) => {
        if (node === 'pve-a') return [];
        throw new TypeError('secret-bearing detail');
      },
      listSnapshots: async () => [],
    };
    const clusters = new StaticPveClusters([{ name: 'demo', client } as unknown as PveCluster]);
    const { unavailable } = await listInstanceBackups(clusters, { current: CURRENT, former: [FORMER[0]] });
    expect(unavailable).toEqual([{ guest: FORMER[0], message: 'Could not list its backups (TypeError)' }]);
  });
});
