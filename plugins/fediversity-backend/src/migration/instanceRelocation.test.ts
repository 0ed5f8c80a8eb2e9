import { mockServices } from '@backstage/backend-test-utils';
import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { instanceStoreRelocator } from './instanceRelocation';
import { MigrationParams } from './params';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const params = {
  source: { host: '10.10.1.4', port: 22, username: 'root' },
  target: { host: '10.10.2.9', port: 22, username: 'root', hostPublicKey: KEY },
  provision: { cluster: 'pve', node: 'pve-b', storage: 'local-zfs' },
} as unknown as MigrationParams;

function relocatorFor(trust: 'tofu' | 'demo' | 'configured') {
  const relocated: any[] = [];
  const instances = {
    findByName: async () => ({ id: 'i-1', name: 'social', ssh: { trust } }) as any,
    relocate: async (_id: string, to: any) => {
      relocated.push(to);
      return {} as any;
    },
  };
  const client = { listStorages: async () => [{ storage: 'local-zfs', shared: 0 }] } as any;
  const relocator = instanceStoreRelocator({
    instances,
    clusters: new StaticPveClusters([{ name: 'pve', client, demo: false }]),
    logger: mockServices.logger.mock(),
  });
  return { relocator, relocated };
}

describe('instanceStoreRelocator', () => {
  it('records a target whose key was pinned on first contact as trust on first use, whatever the source had', async () => {
    const { relocator, relocated } = relocatorFor('configured');
    await relocator.moveToTarget('component:default/social', params, { vmid: 120, node: 'pve-b', pinnedOnFirstUse: true });
    expect(relocated[0]).toMatchObject({ cluster: 'pve', node: 'pve-b', vmid: 120, ssh: { host: '10.10.2.9', hostKey: KEY, trust: 'tofu' } });
  });

  it("keeps the source's trust for a target known up front", async () => {
    const { relocator, relocated } = relocatorFor('demo');
    await relocator.moveToTarget('component:default/social', params, { vmid: 120, node: 'pve-b' });
    expect(relocated[0].ssh.trust).toBe('demo');
  });
});
