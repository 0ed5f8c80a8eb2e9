import path from 'node:path';
import { buildCluster, generateTopology, readTopologyFile } from './topology';

const demo = readTopologyFile(path.resolve(__dirname, '..', 'topologies', 'demo.yaml'));

describe('topology', () => {
  it('builds the committed demo cluster', () => {
    const state = buildCluster(demo, Date.UTC(2026, 0, 1));
    expect(state.clusterName).toBe('demo');
    expect([...state.nodes.keys()]).toEqual(['pve-a', 'pve-b', 'pve-c']);
    for (const node of state.nodes.keys()) {
      expect(state.storage(node, 'local')).toMatchObject({ type: 'dir', content: ['vztmpl', 'backup', 'iso', 'rootdir'] });
      expect(state.storage(node, 'local-zfs')).toMatchObject({ type: 'zfspool', content: ['rootdir', 'images'] });
      expect([...state.storage(node, 'local')!.volumes.keys()]).toEqual([
        'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz',
        'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
      ]);
    }
    expect(state.guests.get(101)).toMatchObject({ node: 'pve-a', status: 'running', pool: 'fediversity' });
    expect(state.guests.get(101)!.config.tags).toBe('fediversity;owner-platform-team;app-mastodon');
    expect(state.storage('pve-a', 'local-zfs')!.volumes.has('local-zfs:subvol-101-disk-0')).toBe(true);
    expect(state.tokens.get('auditor@pve!readonly')).toMatchObject({ privsep: true });
  });

  it('names the mistake in a bad topology', () => {
    expect(() => buildCluster({ ...demo, guests: [{ vmid: 200, node: 'pve-z', hostname: 'x' }] }, 0)).toThrow("guest 200: unknown node 'pve-z'");
    expect(() => buildCluster({ ...demo, guests: [{ vmid: 200, node: 'pve-a', hostname: 'x', rootfs: 'nfs:4' }] }, 0)).toThrow(
      "guest 200: node pve-a has no storage 'nfs'",
    );
    expect(() => buildCluster({ ...demo, tokens: [{ id: 'ghost@pve!t' }] }, 0)).toThrow('user ghost@pve is not defined');
    expect(() => buildCluster({ ...demo, users: [{ userid: 'x@pve', acl: [{ path: '/', role: 'Superuser' }] }] }, 0)).toThrow(
      "unknown role 'Superuser'",
    );
  });

  it('generates large clusters for benchmarks', () => {
    const state = buildCluster(generateTopology({ nodes: 100, guests: 10_000 }), 0);
    expect(state.nodes.size).toBe(100);
    expect(state.guests.size).toBe(10_000);
    expect(state.guestsOn('pve-001')).toHaveLength(100);
  });
});
