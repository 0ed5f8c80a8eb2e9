import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { ensureContainer, EnsureContainerInput } from './ensureContainer';
import { nixosContainerParams, PveClient } from './PveClient';
import { PveError, PveTaskError } from './PveError';

/**
 * The client against the PVE simulator (packages/pve-simulator): the two share no code, each follows Proxmox's
 * documentation and schema, so agreement here means something.
 */
describe('PveClient against the simulator', () => {
  let simulator: PveSimulator;
  let client: PveClient;
  const token = () => {
    const separator = simulator.token.lastIndexOf('=');
    return { tokenId: simulator.token.slice(0, separator), tokenSecret: simulator.token.slice(separator + 1) };
  };
  const connect = (overrides: Partial<Parameters<typeof PveClient.connect>[0]> = {}) =>
    PveClient.connect({
      url: simulator.url,
      ...token(),
      fingerprint: simulator.fingerprint,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      taskWait: { initialIntervalMs: 20, maxIntervalMs: 100, timeoutMs: 20_000 },
      ...overrides,
    });
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnXaSimulatorTestKeyOnlyForTests portal@test';
  const createInput = (
    identity: string,
    db: { vmids: number[]; upids: string[] },
    overrides: Partial<EnsureContainerInput> = {},
  ): EnsureContainerInput => ({
    node: 'pve-a',
    identityTags: ['fediversity', `inst-${identity}`],
    params: nixosContainerParams({
      vmid: 0,
      ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz',
      hostname: `${identity}.demo.fediversity.test`,
      sshPublicKeys: [key],
      storage: 'local-zfs',
      diskGiB: 4,
    }),
    onVmidAllocated: async vmid => void db.vmids.push(vmid),
    onTaskStarted: async upid => void db.upids.push(upid),
    ...overrides,
  });
  const guestsTagged = async (tag: string) =>
    (await client.getClusterResources('vm')).filter(g => (g.tags ?? '').split(/[;, ]/).includes(tag));

  beforeAll(async () => {
    simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 50 });
    client = connect();
  });
  afterAll(() => simulator.close());
  afterEach(() => simulator.faults.clear());

  it('reads the demo cluster through the pinned certificate', async () => {
    const resources = await client.getClusterResources();
    expect(resources.filter(r => r.type === 'node').map(r => r.node).sort()).toEqual(['pve-a', 'pve-b', 'pve-c']);
    expect(await client.nextId()).toEqual(expect.any(Number));
    expect(await client.listNodes()).toHaveLength(3);
  });

  it('reports a bad token as a 401 PveError without retrying or leaking the secret', async () => {
    const error = await connect({ tokenSecret: '00000000-0000-4000-8000-000000000000' })
      .getVersion()
      .catch(e => e);
    expect(error).toBeInstanceOf(PveError);
    expect(error.status).toBe(401);
    expect(error.message).not.toContain('00000000-0000-4000-8000-000000000000');
  });

  it('reports a permission failure as a 403 with PVE message', async () => {
    const auditor = connect({
      tokenId: 'auditor@pve!readonly',
      tokenSecret: '3f1c9a52-7d1e-4c6b-9a0e-5b2f8d4e6a10',
    });
    await expect(auditor.getClusterResources()).resolves.toBeDefined();
    const error = await auditor
      .createContainer('pve-a', { vmid: 4100, ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz' })
      .catch(e => e);
    expect(error).toMatchObject({ status: 403 });
    expect(error.pveMessage).toMatch(/Permission check failed/);
  });

  it('reports schema failures with per-parameter errors', async () => {
    const error = await client
      .createContainer('pve-a', { vmid: 4101, ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz', hostname: 'bad_host' })
      .catch(e => e);
    expect(error).toMatchObject({ status: 400, pveMessage: 'Parameter verification failed.' });
    expect(Object.keys(error.errors)).toEqual(['hostname']);
    const taken = await client.nextId(101).catch(e => e);
    expect(taken.isAlreadyExists).toBe(true);
  });

  it('fails a task with its exit status and the tail of its log', async () => {
    simulator.faults.addTaskFault({ type: 'vzcreate', error: 'unable to create CT - storage full', count: 1 });
    const db = { vmids: [] as number[], upids: [] as string[] };
    const created = await ensureContainer(client, createInput('failing', db));
    const error = await client.waitForTask((created as { upid: string }).upid).catch(e => e);
    expect(error).toBeInstanceOf(PveTaskError);
    expect(error.exitstatus).toMatch(/storage full/);
    expect(error.logTail[error.logTail.length - 1]).toMatch(/^TASK ERROR: .*storage full/);
  });

  it('counts WARNINGS: n as success', async () => {
    simulator.faults.addTaskFault({ type: 'vzstop', warnings: 2, count: 1 });
    const upid = await client.stopGuest({ node: 'pve-a', vmid: 110 });
    await expect(client.waitForTask(upid)).resolves.toMatchObject({ exitstatus: 'WARNINGS: 2', warnings: 2 });
    await client.waitForTask(await client.startGuest({ node: 'pve-a', vmid: 110 }));
  });

  it('retries a GET answered 595 and gives up after its attempts', async () => {
    simulator.faults.addRequestFault({ method: 'GET', path: '/cluster/resources', status: 595, count: 2 });
    await expect(client.getClusterResources()).resolves.not.toHaveLength(0);
    expect(simulator.faults.describe().requests).toEqual([]);
    simulator.faults.addRequestFault({ method: 'GET', path: '/version', status: 596, count: 10 });
    await expect(client.getVersion()).rejects.toMatchObject({ status: 596 });
    expect(simulator.faults.describe().requests[0].count).toBe(6);
  });

  it('never repeats a POST that failed after reaching the API', async () => {
    simulator.faults.addRequestFault({ method: 'POST', path: '/nodes/pve-a/lxc', status: 500, message: 'got lost', count: 2 });
    await expect(
      client.createContainer('pve-a', { vmid: 4102, ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz' }),
    ).rejects.toMatchObject({ status: 500 });
    expect(simulator.faults.describe().requests[0].count).toBe(1);
    simulator.faults.clear();
    // A 595 means pveproxy never reached the node: that POST is safe to send again.
    simulator.faults.addRequestFault({ method: 'POST', path: '/nodes/pve-a/lxc', status: 595, count: 1 });
    const upid = await client.createContainer('pve-a', {
      vmid: 4102,
      ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz',
    });
    await client.waitForTask(upid);
  });

  it('creates once after a crash between the POST and persisting the UPID', async () => {
    const db = { vmids: [] as number[], upids: [] as string[] };
    const crash = new Error('process died before persisting the UPID');
    await expect(
      ensureContainer(client, createInput('crashy', db, { onTaskStarted: async () => Promise.reject(crash) })),
    ).rejects.toBe(crash);
    expect(db.vmids).toHaveLength(1);

    // The rerun knows only the VMID; the create task is still running (tags are not written yet).
    const resumed = await ensureContainer(client, createInput('crashy', db, { known: { vmid: db.vmids[0] } }));
    expect(resumed).toMatchObject({ outcome: 'attached', vmid: db.vmids[0] });
    await client.waitForTask((resumed as { upid: string }).upid);

    const again = await ensureContainer(client, createInput('crashy', db));
    expect(again).toEqual({ outcome: 'exists', vmid: db.vmids[0], node: 'pve-a' });
    expect(await guestsTagged('inst-crashy')).toHaveLength(1);
    expect(db.vmids).toHaveLength(1);
  });

  it('survives the nextid race between two concurrent creates', async () => {
    // Slow creates: both creators read the same free id from nextid before the first POST takes it.
    simulator.faults.addRequestFault({ method: 'POST', path: '/nodes/pve-a/lxc', delayMs: 300, count: 2 });
    const dbA = { vmids: [] as number[], upids: [] as string[] };
    const dbB = { vmids: [] as number[], upids: [] as string[] };
    const [a, b] = await Promise.all([
      ensureContainer(client, createInput('race-a', dbA)),
      ensureContainer(client, createInput('race-b', dbB)),
    ]);
    expect(a.outcome).toBe('created');
    expect(b.outcome).toBe('created');
    expect(a.vmid).not.toBe(b.vmid);
    // The race really happened: one side was first handed the id the other one won.
    expect([...dbA.vmids, ...dbB.vmids]).toHaveLength(3);
    await Promise.all([a, b].map(r => client.waitForTask((r as { upid: string }).upid)));
    expect(await guestsTagged('inst-race-a')).toHaveLength(1);
    expect(await guestsTagged('inst-race-b')).toHaveLength(1);
  });

  it('guards config updates with the digest and runs snapshots, backups and listings', async () => {
    const guest = { node: 'pve-a', vmid: 101 };
    const config = await client.getGuestConfig(guest);
    await client.updateGuestConfig(guest, { description: 'first' }, { digest: config.digest });
    await expect(
      client.updateGuestConfig(guest, { description: 'second' }, { digest: config.digest }),
    ).rejects.toMatchObject({ status: 500, pveMessage: expect.stringMatching(/detected modified configuration/) });

    await client.waitForTask(await client.createSnapshot(guest, { snapname: 'before', description: 'test' }));
    expect((await client.listSnapshots(guest)).map(s => s.name)).toEqual(expect.arrayContaining(['before', 'current']));
    await client.waitForTask(await client.deleteSnapshot(guest, 'before'));

    await client.waitForTask(await client.vzdump('pve-a', { vmids: [101], storage: 'local', mode: 'snapshot', compress: 'zstd' }));
    const backups = await client.listBackups('pve-a', 'local', 101);
    expect(backups[0].volid).toMatch(/^local:backup\/vzdump-lxc-101-/);
    expect((await client.listStorages('pve-a', { content: ['rootdir'] })).map(s => s.storage)).toContain('local-zfs');
    expect(await client.getContainerInterfaces(guest)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'eth0' })]),
    );
  });

  it('restores a backup into a new guest, clones, templates and deletes', async () => {
    const source = { node: 'pve-c', vmid: 103 };
    await client.waitForTask(await client.vzdump('pve-c', { vmids: [103], storage: 'local', mode: 'stop' }));
    const [backup] = await client.listBackups('pve-c', 'local', 103);
    const restored = { node: 'pve-c', vmid: await client.nextId() };
    await client.waitForTask(
      await client.restoreContainer('pve-c', { vmid: restored.vmid, archive: backup.volid, storage: 'local-zfs' }),
    );
    expect((await client.getGuestConfig(restored)).hostname).toBe((await client.getGuestConfig(source)).hostname);

    const clone = { node: 'pve-c', vmid: await client.nextId() };
    await client.waitForTask(
      await client.cloneGuest(restored, { newid: clone.vmid, name: 'clone.demo.fediversity.test', full: true, storage: 'local-zfs' }),
    );
    await expect(client.convertToTemplate(clone)).resolves.toBeNull();
    expect((await client.getGuestStatus(clone)).template).toBeTruthy();

    for (const guest of [clone, restored]) {
      await client.waitForTask(await client.deleteGuest(guest, { purge: true, destroyUnreferencedDisks: true }));
    }
    const remaining = (await client.getClusterResources('vm')).map(g => g.vmid);
    expect(remaining).not.toContain(clone.vmid);
    expect(remaining).not.toContain(restored.vmid);
  });

  it('migrates a container to another cluster and keeps the source', async () => {
    const target = await startPveSimulator({ speed: 50, authFailureDelayMs: 50 });
    try {
      const separator = target.token.lastIndexOf('=');
      const { hostname, port } = new URL(target.url);
      const upid = await client.remoteMigrate(
        { node: 'pve-c', vmid: 103 },
        {
          target: {
            tokenId: target.token.slice(0, separator),
            tokenSecret: target.token.slice(separator + 1),
            host: hostname,
            port: Number(port),
            fingerprint: target.fingerprint,
          },
          storageMap: { 'local-zfs': 'local-zfs' },
          bridgeMap: '1',
          targetVmid: 5103,
          restart: true,
        },
      );
      await client.waitForTask(upid);
      const targetClient = connect({
        url: target.url,
        tokenId: target.token.slice(0, separator),
        tokenSecret: target.token.slice(separator + 1),
        fingerprint: target.fingerprint,
      });
      expect((await targetClient.getClusterResources('vm')).map(g => g.vmid)).toContain(5103);
      expect((await client.getClusterResources('vm')).map(g => g.vmid)).toContain(103);
    } finally {
      await target.close();
    }
  });

  it('stops waiting, not the task, when the signal aborts', async () => {
    const controller = new AbortController();
    const upid = await client.shutdownGuest({ node: 'pve-b', vmid: 102 }, { timeout: 30 });
    setTimeout(() => controller.abort(new Error('caller gave up')), 5);
    await expect(client.waitForTask(upid, { signal: controller.signal })).rejects.toThrow('caller gave up');
    await expect(client.waitForTask(upid)).resolves.toMatchObject({ exitstatus: 'OK' });
  });
});
