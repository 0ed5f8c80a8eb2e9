import { ensureContainer } from './ensureContainer';
import { nixosContainerParams, PveClient } from './PveClient';
import { findApidocPath, PveApidoc, WireRequest } from './__testUtils__/pveApidoc';
import { RecordingTransport } from './__testUtils__/RecordingTransport';

/**
 * Contract test: every request the client can build, with every parameter its typed methods can send, is
 * validated against the official PVE 9.1 API schema (see __testUtils__/pveApidoc.ts).
 */
const apidocPath = findApidocPath();
if (!apidocPath) {
  // eslint-disable-next-line no-console
  console.warn(
    'Skipping the PVE client contract test: no pve-apidoc.json (set PVE_APIDOC or put it in ../shared/data)',
  );
}
const describeWithSchema = apidocPath ? describe : describe.skip;

const UPID = 'UPID:pve-a:0003A1B2:0107C3D4:6650F0A1:vzcreate:105:svc@pve!portal:';
const ct = { node: 'pve-a', vmid: 105 };
const vm = { node: 'pve-b', vmid: 200, type: 'qemu' as const };
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnX portal@example';
const fingerprint = Array.from({ length: 32 }, () => 'AB').join(':');

function answer(request: WireRequest) {
  if (request.path.endsWith('/status') && request.path.includes('/tasks/')) {
    return { data: { upid: UPID, status: 'stopped', exitstatus: 'unable to create CT 105 - disk full' } };
  }
  if (request.path.endsWith('/log')) {
    return { data: [{ n: 1, t: 'TASK ERROR: disk full' }], total: 120 };
  }
  if (request.path === '/cluster/nextid') return { data: '105' };
  if (request.path === '/cluster/resources') return { data: [] };
  if (request.method === 'GET') return { data: [] };
  return { data: UPID };
}

type PublicMethod = {
  [K in keyof PveClient]: PveClient[K] extends (...args: any[]) => any ? K : never;
}[keyof PveClient];

describeWithSchema('PveClient requests against the PVE API schema', () => {
  const apidoc = apidocPath ? PveApidoc.load(apidocPath) : undefined!;

  // One entry per public method (the type makes a missing one a compile error), each with every parameter.
  const exercises: Record<Exclude<PublicMethod, 'call'>, (c: PveClient) => Promise<unknown>> = {
    getVersion: c => c.getVersion(),
    getClusterStatus: c => c.getClusterStatus(),
    getClusterResources: async c => {
      await c.getClusterResources();
      await c.getClusterResources('vm');
      await c.getClusterResources('storage');
    },
    nextId: async c => {
      await c.nextId();
      await c.nextId(4242);
    },
    listNodes: c => c.listNodes(),
    listStorages: c => c.listStorages('pve-a', { content: ['rootdir', 'images'], enabled: true }),
    listStorageContent: c =>
      c.listStorageContent('pve-a', 'local-zfs', { content: 'rootdir', vmid: 105 }),
    listBackups: c => c.listBackups('pve-a', 'local', 105),
    getTaskStatus: c => c.getTaskStatus(UPID),
    getTaskLogPage: c => c.getTaskLogPage(UPID, { start: 10, limit: 20 }),
    listTasks: c =>
      c.listTasks('pve-a', {
        vmid: 105,
        typefilter: 'vzcreate',
        source: 'all',
        errors: true,
        since: 1700000000,
        until: 1800000000,
        start: 0,
        limit: 50,
        userfilter: 'svc@pve',
      }),
    stopTask: c => c.stopTask(UPID),
    waitForTask: c => c.waitForTask(UPID).catch(() => undefined),
    createContainer: c =>
      c.createContainer('pve-a', {
        ...nixosContainerParams({
          vmid: 105,
          ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz',
          hostname: 'social.example.org',
          sshPublicKeys: [key, key],
          storage: 'local-zfs',
          diskGiB: 16,
          cores: 2,
          memoryMiB: 2048,
          swapMiB: 512,
          network: {
            name: 'eth0',
            bridge: 'vmbr0',
            ip: '10.0.0.5/24',
            gw: '10.0.0.1',
            ip6: 'auto',
            hwaddr: 'BC:24:11:00:00:01',
            tag: 20,
            firewall: true,
            mtu: 1500,
          },
          tags: ['fediversity', 'svc-mastodon', 'inst-3f2a9c'],
          description: 'Mastodon for example.org',
          pool: 'fediversity',
          start: true,
          onboot: true,
        }),
        nameserver: '10.0.0.1 2001:db8::1',
        searchdomain: 'example.org',
        protection: false,
        timezone: 'Europe/Amsterdam',
        storage: 'local-zfs',
      }),
    restoreContainer: c =>
      c.restoreContainer('pve-a', {
        vmid: 106,
        archive: 'local:backup/vzdump-lxc-105-2026_01_01-02_00_00.tar.zst',
        storage: 'local-zfs',
        force: true,
        unique: true,
        hostname: 'restored.example.org',
        pool: 'fediversity',
        start: true,
      }),
    restoreVm: c =>
      c.restoreVm('pve-b', {
        vmid: 201,
        archive: 'local:backup/vzdump-qemu-200.vma.zst',
        storage: 'local-zfs',
        force: false,
        unique: true,
        pool: 'fediversity',
        start: false,
      }),
    cloneGuest: async c => {
      const common = {
        full: true,
        storage: 'local-zfs',
        target: 'pve-c',
        pool: 'fediversity',
        snapname: 'before-upgrade',
        description: 'clone',
        bwlimit: 10240,
      };
      await c.cloneGuest(ct, { newid: 107, name: 'copy.example.org', ...common });
      await c.cloneGuest(vm, { newid: 202, name: 'copy', ...common });
    },
    convertToTemplate: async c => {
      await c.convertToTemplate(ct);
      await c.convertToTemplate(vm);
    },
    deleteGuest: async c => {
      await c.deleteGuest(ct, { purge: true, destroyUnreferencedDisks: true, force: true });
      await c.deleteGuest(vm, { purge: true, destroyUnreferencedDisks: true });
    },
    getGuestStatus: async c => {
      await c.getGuestStatus(ct);
      await c.getGuestStatus(vm);
    },
    startGuest: async c => {
      await c.startGuest(ct, { skiplock: true });
      await c.startGuest(vm, { skiplock: true });
    },
    stopGuest: async c => {
      await c.stopGuest(ct, { skiplock: true, overruleShutdown: true });
      await c.stopGuest(vm, { skiplock: true, overruleShutdown: true });
    },
    shutdownGuest: async c => {
      await c.shutdownGuest(ct, { timeout: 60, forceStop: true });
      await c.shutdownGuest(vm, { timeout: 60, forceStop: true });
    },
    getContainerInterfaces: c => c.getContainerInterfaces(ct),
    getGuestConfig: async c => {
      await c.getGuestConfig(ct, { current: true, snapshot: 'before-upgrade' });
      await c.getGuestConfig(vm, { current: true, snapshot: 'before-upgrade' });
    },
    updateGuestConfig: async c => {
      const digest = 'a'.repeat(40);
      await c.updateGuestConfig(
        ct,
        {
          hostname: 'social.example.org',
          cores: 4,
          memory: 4096,
          swap: 0,
          onboot: true,
          tags: ['fediversity', 'inst-3f2a9c'],
          description: 'moved',
          net0: 'name=eth0,bridge=vmbr1,ip=dhcp',
          features: 'nesting=1',
          protection: true,
        },
        { digest, remove: ['mp0', 'unused0'] },
      );
      await c.updateGuestConfig(
        vm,
        {
          name: 'social',
          cores: 4,
          memory: '4096',
          onboot: true,
          tags: ['fediversity'],
          description: 'vm',
          ciuser: 'root',
          sshkeys: [key, `${key} second+key`],
          ipconfig0: 'ip=10.0.0.6/24,gw=10.0.0.1',
          nameserver: '10.0.0.1',
          agent: '1',
          protection: false,
        },
        { digest, remove: ['net1'] },
      );
    },
    listSnapshots: async c => {
      await c.listSnapshots(ct);
      await c.listSnapshots(vm);
    },
    createSnapshot: async c => {
      await c.createSnapshot(ct, { snapname: 'before-upgrade', description: 'pre 4.3' });
      await c.createSnapshot(vm, { snapname: 'before-upgrade', description: 'pre 4.3' });
    },
    rollbackSnapshot: async c => {
      await c.rollbackSnapshot(ct, 'before-upgrade', { start: true });
      await c.rollbackSnapshot(vm, 'before-upgrade', { start: true });
    },
    deleteSnapshot: async c => {
      await c.deleteSnapshot(ct, 'before-upgrade', { force: true });
      await c.deleteSnapshot(vm, 'before-upgrade', { force: true });
    },
    vzdump: c =>
      c.vzdump('pve-a', {
        vmids: [105, 106],
        storage: 'local',
        mode: 'snapshot',
        compress: 'zstd',
        remove: true,
        'prune-backups': 'keep-last=3,keep-daily=7',
        'notes-template': '{{guestname}}',
        protected: false,
        bwlimit: 0,
      }),
    remoteMigrate: async c => {
      const params = {
        target: {
          tokenId: 'migrate@pve!portal',
          tokenSecret: '0b7d2f4e-1c55-4f0e-9a3a-5d2b8f1e6c9a',
          host: 'pve.other-provider.example',
          port: 8006,
          fingerprint,
        },
        storageMap: { 'local-zfs': 'tank', local: 'local' },
        bridgeMap: { vmbr0: 'vmbr1' },
        targetVmid: 5005,
        delete: false,
        bwlimit: 51200,
      };
      await c.remoteMigrate(ct, { ...params, restart: true, timeout: 120 });
      await c.remoteMigrate(vm, { ...params, bridgeMap: '1', online: true });
    },
  };

  it.each(Object.keys(exercises))('%s sends only schema-valid requests', async name => {
    const transport = new RecordingTransport(answer);
    const client = new PveClient({
      transport,
      clock: { now: () => 0, sleep: async () => {} },
    });
    await exercises[name as keyof typeof exercises](client);
    expect(transport.requests.length).toBeGreaterThan(0);
    const problems = transport.requests.flatMap(request =>
      apidoc.validate(request).map(error => `${request.method} ${request.path}: ${error}`),
    );
    expect(problems).toEqual([]);
  });

  it('waitForTask reads the tail of a long log after a failure', async () => {
    const transport = new RecordingTransport(answer);
    const client = new PveClient({ transport, clock: { now: () => 0, sleep: async () => {} } });
    await expect(client.waitForTask(UPID)).rejects.toThrow(/disk full/);
    const logCalls = transport.requests.filter(r => r.path.endsWith('/log'));
    expect(logCalls.map(r => r.params.start)).toEqual([['0'], ['100']]);
    for (const request of transport.requests) expect(apidoc.validate(request)).toEqual([]);
  });

  it('ensureContainer sends only schema-valid requests', async () => {
    const transport = new RecordingTransport(answer);
    const client = new PveClient({ transport });
    const result = await ensureContainer(client, {
      node: 'pve-a',
      identityTags: ['fediversity', 'inst-3f2a9c'],
      params: nixosContainerParams({
        vmid: 0,
        ostemplate: 'local:vztmpl/nixos.tar.xz',
        hostname: 'social.example.org',
        sshPublicKeys: [key],
        storage: 'local-zfs',
        diskGiB: 8,
      }),
      known: { vmid: 4242 },
      onVmidAllocated: async () => {},
      onTaskStarted: async () => {},
    });
    expect(result.outcome).toBe('created');
    expect(transport.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      'GET /cluster/resources',
      'GET /cluster/nextid',
      'POST /nodes/pve-a/lxc',
    ]);
    for (const request of transport.requests) expect(apidoc.validate(request)).toEqual([]);
  });
});
