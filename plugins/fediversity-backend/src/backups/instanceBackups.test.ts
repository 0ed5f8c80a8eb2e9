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

  it('lists an archive of a reused VMID on a shared storage once, under the guest that had the instance when it was taken', async () => {
    const moved = Date.parse('2026-11-20T12:00:00Z');
    const archive = (day: string, at: number) => ({ volid: `nas:backup/vzdump-lxc-101-2026_11_${day}-02_00_00.tar.zst`, ctime: at / 1000 });
    // The instance left guest 101 on pve-b, which was destroyed; the new guest on pve-a got 101 again.
    const client = {
      listStorages: async () => [{ storage: 'nas', shared: 1 }],
      listBackups: async () => [archive('19', moved - 86_400_000), archive('21', moved + 86_400_000)],
      listSnapshots: async () => [{ name: 'before-upgrade', snaptime: moved / 1000 + 3600 }],
    };
    const clusters = new StaticPveClusters([{ name: 'demo', client } as unknown as PveCluster]);
    const former = [{ cluster: 'demo', node: 'pve-b', vmid: 101, movedAt: new Date(moved).toISOString() }];
    const { items } = await listInstanceBackups(clusters, { current: CURRENT, former });
    expect(items.map(item => [item.id, item.guest.node, item.former ?? false])).toEqual([
      ['nas:backup/vzdump-lxc-101-2026_11_21-02_00_00.tar.zst', 'pve-a', false],
      ['before-upgrade', 'pve-a', false],
      ['nas:backup/vzdump-lxc-101-2026_11_19-02_00_00.tar.zst', 'pve-b', true],
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
