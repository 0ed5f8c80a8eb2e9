import { entitySchemaValidator, resourceEntityV1alpha1Validator } from '@backstage/catalog-model';
import { ClusterResource } from '@fediversity/plugin-fediversity-node';
import { buildEntities } from './buildEntities';

const resources: ClusterResource[] = [
  { id: 'node/pve-a', type: 'node', node: 'pve-a', status: 'online' },
  { id: 'node/pve-b', type: 'node', node: 'pve-b', status: 'offline' },
  { id: 'storage/pve-a/local', type: 'storage', node: 'pve-a', storage: 'local', shared: 0, content: 'vztmpl,backup', plugintype: 'dir', status: 'available' },
  { id: 'storage/pve-a/local-zfs', type: 'storage', node: 'pve-a', storage: 'local-zfs', shared: 0, content: 'rootdir,images', plugintype: 'zfspool', status: 'available' },
  { id: 'storage/pve-b/local-zfs', type: 'storage', node: 'pve-b', storage: 'local-zfs', shared: 0, content: 'rootdir,images', plugintype: 'zfspool', status: 'available' },
  { id: 'storage/pve-a/ceph', type: 'storage', node: 'pve-a', storage: 'ceph', shared: 1, content: 'images,rootdir', plugintype: 'rbd', status: 'available' },
  { id: 'storage/pve-b/ceph', type: 'storage', node: 'pve-b', storage: 'ceph', shared: 1, content: 'images,rootdir', plugintype: 'rbd', status: 'available' },
  { id: 'lxc/105', type: 'lxc', node: 'pve-a', vmid: 105, name: 'social', status: 'running', tags: 'fediversity;owner-social;Mixed_Case', pool: 'ops' },
  { id: 'qemu/200', type: 'qemu', node: 'pve-b', vmid: 200, name: 'legacy', status: 'stopped', pool: 'ops' },
  { id: 'lxc/300', type: 'lxc', node: 'pve-a', vmid: 300, status: 'stopped', template: 1 },
];

const build = (demo = false) =>
  buildEntities(
    { resources, guestStorages: new Map([[105, ['local-zfs', 'ceph']], [200, ['ceph']]]) },
    { cluster: 'lab', demo, location: 'fediversity-proxmox:lab' },
  );
const byName = (name: string) => build().find(e => e.metadata.name === name)!;

describe('buildEntities', () => {
  it('emits the cluster, nodes, storages (shared once) and guests with stable names', () => {
    expect(build().map(e => `${e.spec!.type} ${e.metadata.name}`)).toEqual([
      'proxmox-cluster lab',
      'proxmox-node lab-pve-a',
      'proxmox-node lab-pve-b',
      'storage-pool lab-pve-a-local',
      'storage-pool lab-pve-a-local-zfs',
      'storage-pool lab-pve-b-local-zfs',
      'storage-pool lab-ceph',
      'lxc-container lab-ct-105',
      'vm lab-vm-200',
      'lxc-container lab-ct-300',
    ]);
  });

  it('relates guests to their node and storages, storages to node or cluster, nodes to the cluster', () => {
    expect(byName('lab-ct-105').spec).toMatchObject({
      owner: 'group:default/social',
      dependsOn: ['resource:default/lab-pve-a', 'resource:default/lab-pve-a-local-zfs', 'resource:default/lab-ceph'],
    });
    expect(byName('lab-vm-200').spec).toMatchObject({
      owner: 'group:default/ops',
      dependsOn: ['resource:default/lab-pve-b', 'resource:default/lab-ceph'],
    });
    expect(byName('lab-ct-300').spec).toMatchObject({
      owner: 'group:default/platform-team',
      dependsOn: ['resource:default/lab-pve-a'],
    });
    expect(byName('lab-pve-a-local-zfs').spec!.dependsOn).toEqual(['resource:default/lab-pve-a']);
    expect(byName('lab-ceph').spec!.dependsOn).toEqual(['resource:default/lab']);
    expect(byName('lab-pve-b').spec!.dependsOn).toEqual(['resource:default/lab']);
  });

  it('annotates cluster, node, vmid, storage and provenance', () => {
    expect(byName('lab-ct-105').metadata.annotations).toEqual({
      'backstage.io/managed-by-location': 'fediversity-proxmox:lab',
      'backstage.io/managed-by-origin-location': 'fediversity-proxmox:lab',
      'fediversity.eu/pve-cluster': 'lab',
      'fediversity.eu/pve-node': 'pve-a',
      'fediversity.eu/vmid': '105',
      'fediversity.eu/pve-storage': 'local-zfs',
    });
    expect(byName('lab-ct-105').metadata.tags).toEqual(['fediversity', 'owner-social']);
    expect(build(true).every(e => e.metadata.annotations!['fediversity.eu/demo'] === 'true')).toBe(true);
  });

  it('produces entities that pass the catalog schemas', async () => {
    const validate = entitySchemaValidator();
    for (const entity of build(true)) {
      expect(() => validate(entity)).not.toThrow();
      await expect(resourceEntityV1alpha1Validator.check(entity)).resolves.toBe(true);
      expect(JSON.stringify(entity)).not.toContain('undefined');
    }
  });
});
