/**
 * Entity names of Proxmox inventory in the catalog. Names are unique per cluster: nodes `<cluster>-<node>`,
 * storages `<cluster>-<node>-<storage>` (shared ones once per cluster as `<cluster>-<storage>`), guests
 * `<cluster>-ct-<vmid>` / `<cluster>-vm-<vmid>`.
 */
export const clusterEntityName = (cluster: string) => cluster;

export const nodeEntityName = (cluster: string, node: string) => `${cluster}-${node}`;

export const storageEntityName = (
  cluster: string,
  storage: string,
  location: { shared: true } | { shared: false; node: string },
) => (location.shared ? `${cluster}-${storage}` : `${cluster}-${location.node}-${storage}`);

export const guestEntityName = (cluster: string, type: 'lxc' | 'qemu', vmid: number) =>
  `${cluster}-${type === 'lxc' ? 'ct' : 'vm'}-${vmid}`;

export const resourceRef = (name: string) => `resource:default/${name}`;
