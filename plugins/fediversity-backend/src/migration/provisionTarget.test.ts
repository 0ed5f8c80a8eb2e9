import { generateSshKeyPair, StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { proxmoxTargetProvisioner } from './provisionTarget';

jest.setTimeout(60_000);

let simulator: PveSimulator;
let close: () => void;
let clusters: StaticPveClusters;

beforeAll(async () => {
  simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 0 });
  const made = simulatorCluster(simulator, 'demo', true);
  close = made.close;
  clusters = new StaticPveClusters([made.cluster]);
});
afterAll(async () => {
  close?.();
  await simulator?.close();
});

const portalKey = generateSshKeyPair('fediversity-portal');
const guestAccess = { clientKey: async () => portalKey };

const provision = {
  cluster: 'demo',
  node: 'pve-b',
  ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz',
  storage: 'local-zfs',
  diskGb: 8,
  memoryMb: 1024,
  cores: 1,
};

function context(jobId: string, vmid: number | undefined) {
  const saved: Array<{ vmid?: number }> = [];
  return {
    saved,
    ctx: {
      jobId,
      provision: { ...provision, vmid },
      checkpoint: {},
      saveCheckpoint: async (checkpoint: { vmid?: number }) => {
        saved.push(checkpoint);
      },
      signal: new AbortController().signal,
    },
  };
}

describe('proxmoxTargetProvisioner with a planned VMID', () => {
  it('creates and starts the target with exactly the planned VMID, once', async () => {
    const { client } = clusters.get('demo');
    const vmid = await client.nextId();
    const provisioner = proxmoxTargetProvisioner(clusters, guestAccess);
    const { ctx, saved } = context('0a1b2c3d-planned', vmid);
    expect(await provisioner.ensureTarget(ctx)).toEqual({ vmid, node: 'pve-b' });
    expect(saved[0]).toEqual({ vmid });
    expect(await client.getGuestStatus({ node: 'pve-b', vmid, type: 'lxc' })).toMatchObject({ status: 'running' });
    // The portal can log in, and the guest takes an address the provision step can look up.
    const config = await client.getGuestConfig({ node: 'pve-b', vmid, type: 'lxc' });
    expect(config.net0).toContain('ip=dhcp');
    expect(JSON.stringify(config)).not.toContain('PRIVATE');
    // Run again (a retried step): the same guest, nothing new.
    const count = (await client.getClusterResources('vm')).length;
    expect(await provisioner.ensureTarget(context('0a1b2c3d-planned', vmid).ctx)).toEqual({ vmid, node: 'pve-b' });
    expect((await client.getClusterResources('vm')).length).toBe(count);
  });

  it('refuses, before creating anything, when another guest took the planned VMID', async () => {
    const { client } = clusters.get('demo');
    const before = (await client.getClusterResources('vm')).length;
    const { ctx, saved } = context('9f8e7d6c-taken', 101);
    await expect(proxmoxTargetProvisioner(clusters, guestAccess).ensureTarget(ctx)).rejects.toThrow(
      'The planned target VMID 101 was taken by another guest; plan the migration again',
    );
    expect(saved).toEqual([]);
    expect((await client.getClusterResources('vm')).length).toBe(before);
  });
});
