import { request } from './__testUtils__/request';
import { ManualClock } from './clock';
import { PveSimulator, startPveSimulator } from './simulator';

describe('remote migration between two simulated clusters', () => {
  let source: PveSimulator;
  let target: PveSimulator;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = new ManualClock();
    source = await startPveSimulator({ http: true, clock, authFailureDelayMs: 0 });
    target = await startPveSimulator({
      clock: new ManualClock(),
      authFailureDelayMs: 0,
      topology: {
        cluster: 'other-provider',
        nodes: [{ name: 'far-1' }],
        storages: [{ id: 'tank', type: 'zfspool', content: ['rootdir', 'images'], total: '2T' }],
      },
    });
  });
  afterAll(async () => {
    await source.close();
    await target.close();
  });

  const endpoint = (fingerprint: string) => {
    const port = new URL(target.url).port;
    return `apitoken=PVEAPIToken=${target.token},host=127.0.0.1,port=${port},fingerprint=${fingerprint}`;
  };

  async function finished(upid: string) {
    for (let i = 0; i < 100; i++) {
      const status = (await request(source, 'GET', `/nodes/pve-c/tasks/${encodeURIComponent(upid)}/status`)).json.data;
      if (status.status === 'stopped') return status;
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    throw new Error('task did not finish');
  }

  it('refuses identity storage mapping and running CTs without restart', async () => {
    const identity = await request(source, 'POST', '/nodes/pve-a/lxc/101/remote_migrate', {
      form: { 'target-endpoint': endpoint(target.fingerprint!), 'target-storage': '1', 'target-bridge': '1' },
    });
    expect(identity.json.message).toBe('remote migration requires explicit storage mapping!\n');
    const running = await request(source, 'POST', '/nodes/pve-a/lxc/101/remote_migrate', {
      form: { 'target-endpoint': endpoint(target.fingerprint!), 'target-storage': 'local-zfs:tank', 'target-bridge': '1' },
    });
    expect(running.json.message).toBe("can't migrate running container without --online or --restart\n");
  });

  it('fails the task when the pinned fingerprint does not match', async () => {
    const wrong = Array.from({ length: 32 }, () => 'AB').join(':');
    const upid = (
      await request(source, 'POST', '/nodes/pve-c/lxc/103/remote_migrate', {
        form: { 'target-endpoint': endpoint(wrong), 'target-storage': 'local-zfs:tank', 'target-bridge': '1' },
      })
    ).json.data;
    clock.advance(60_000);
    const status = await finished(upid);
    expect(status.exitstatus).toMatch(/fingerprint mismatch/);
    expect(source.state.guests.get(103)?.config.lock).toBeUndefined();
  });

  it('moves the CT to the other cluster with the target token, deleting the source', async () => {
    const upid = (
      await request(source, 'POST', '/nodes/pve-c/lxc/103/remote_migrate', {
        form: {
          'target-endpoint': endpoint(target.fingerprint!),
          'target-storage': 'local-zfs:tank',
          'target-bridge': 'vmbr0:vmbr9',
          'target-vmid': 5103,
          delete: 1,
        },
      })
    ).json.data;
    expect(source.state.guests.get(103)?.config.lock).toBe('migrate');
    clock.advance(60_000);
    expect((await finished(upid)).exitstatus).toBe('OK');
    expect(source.state.guests.has(103)).toBe(false);
    const config = (await request(target, 'GET', '/nodes/far-1/lxc/5103/config')).json.data;
    expect(config).toMatchObject({ hostname: 'cloud.demo.fediversity.test', rootfs: 'tank:subvol-5103-disk-0,size=128G' });
    expect(config.net0).toContain('bridge=vmbr9');
  });
});
