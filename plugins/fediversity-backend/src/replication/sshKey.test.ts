import { GuestAccess, PveCluster, PveClustersService } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { replicationPrivateKey } from './sshKey';

const demoKey = { privateKey: 'DEMO PRIVATE KEY', publicKey: 'ssh-ed25519 AAAA demo' };
const clustersOf = (...clusters: PveCluster[]): PveClustersService => ({ list: () => clusters, get: () => clusters[0] });
const guestAccess: GuestAccess = {
  clientKey: async cluster => {
    if (!cluster.demo) throw new Error('only the demo cluster has a demo key');
    return demoKey;
  },
  prepare: async () => {
    throw new Error('not used');
  },
};
const demo = { name: 'demo', demo: true } as PveCluster;
const real = { name: 'prod' } as PveCluster;

describe('replicationPrivateKey', () => {
  it('uses the configured key whenever there is one', async () => {
    await expect(replicationPrivateKey({ configured: 'CONFIGURED', clusters: clustersOf(demo), guestAccess })()).resolves.toBe('CONFIGURED');
  });

  it('falls back to the demo client key when the embedded demo cluster runs', async () => {
    await expect(replicationPrivateKey({ clusters: clustersOf(real, demo), guestAccess })()).resolves.toBe(demoKey.privateKey);
  });

  it('fails permanently without a configured key and without a demo cluster', async () => {
    const key = replicationPrivateKey({ clusters: clustersOf(real), guestAccess });
    await expect(key()).rejects.toThrow(PermanentJobError);
    await expect(key()).rejects.toThrow('fediversity.replication.sshPrivateKey is not configured');
  });
});
