import crypto from 'node:crypto';
import { request, WireResponse } from './__testUtils__/request';
import { ManualClock } from './clock';
import { PveSimulator, startPveSimulator } from './simulator';

const NIXOS = 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz';
const TOKEN = `root@pam!fediversity=${crypto.randomUUID()}`;

describe('PVE simulator over HTTP', () => {
  let sim: PveSimulator;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    sim = await startPveSimulator({ http: true, clock, tokens: [TOKEN], authFailureDelayMs: 0 });
  });
  afterEach(() => sim.close());

  const get = (path: string) => request(sim, 'GET', path);
  const post = (path: string, form: Record<string, string | number> = {}) => request(sim, 'POST', path, { form });
  const taskStatus = async (upid: string) => (await get(`/nodes/${upid.split(':')[1]}/tasks/${encodeURIComponent(upid)}/status`)).json.data;

  async function createCt(vmid: number, extra: Record<string, string | number> = {}) {
    const res = await post('/nodes/pve-a/lxc', {
      vmid,
      ostemplate: NIXOS,
      hostname: `ct${vmid}.example.org`,
      ostype: 'nixos',
      rootfs: 'local-zfs:8',
      net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
      ...extra,
    });
    expect(res.status).toBe(200);
    return res.json.data as string;
  }

  it('answers with PVE envelopes and headers', async () => {
    const res = await get('/version');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.headers.server).toBe('pve-api-daemon/3.0');
    expect(res.json.data.release).toBe('9.1');
    const missing = await get('/nodes/pve-a/qemu');
    expect(missing.status).toBe(501);
    expect(missing.reason).toBe("Method 'GET /nodes/pve-a/qemu' not implemented");
    expect(missing.json).toEqual({ data: null, message: "Method 'GET /nodes/pve-a/qemu' not implemented\n" });
  });

  it('refuses missing and wrong tokens with an empty 401', async () => {
    const none = await request(sim, 'GET', '/version', { token: null });
    expect([none.status, none.reason, none.text, none.headers['content-type']]).toEqual([401, 'No ticket', '', undefined]);
    const wrong = await request(sim, 'GET', '/version', { token: `root@pam!fediversity=${crypto.randomUUID()}` });
    expect([wrong.status, wrong.reason]).toEqual([401, 'Authentication failed!']);
  });

  it('runs a create task: UPID, lock create, warnings exit, then a usable CT', async () => {
    const upid = await createCt(120);
    expect(upid).toMatch(/^UPID:pve-a:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzcreate:120:root@pam!fediversity:$/);
    expect(await taskStatus(upid)).toMatchObject({ status: 'running', type: 'vzcreate', id: '120', user: 'root@pam', tokenid: 'fediversity' });
    expect((await taskStatus(upid)).exitstatus).toBeUndefined();

    const config = await get('/nodes/pve-a/lxc/120/config');
    expect(config.json.data.lock).toBe('create');
    const second = await createCt(120).catch(() => undefined);
    expect(second).toBeUndefined();
    const again = await post('/nodes/pve-a/lxc', { vmid: 120, ostemplate: NIXOS });
    expect([again.status, again.json.message]).toEqual([500, "CT 120 already exists on node 'pve-a'\n"]);
    const update = await request(sim, 'PUT', '/nodes/pve-a/lxc/120/config', { form: { memory: 1024 } });
    expect([update.status, update.reason]).toEqual([500, 'CT is locked (create)']);

    clock.advance(19_000);
    expect((await taskStatus(upid)).status).toBe('running');
    clock.advance(1_000);
    // systemd guest, unprivileged, no nesting: PVE warns
    expect(await taskStatus(upid)).toMatchObject({ status: 'stopped', exitstatus: 'WARNINGS: 1' });
    const log = (await get(`/nodes/pve-a/tasks/${encodeURIComponent(upid)}/log?start=0&limit=50`)).json;
    expect(log.data.at(-1)).toEqual({ n: log.total, t: 'TASK WARNINGS: 1' });
    expect(log.data.map((l: { t: string }) => l.t)).toContain('WARN: Systemd 257 detected. You may need to enable nesting.');

    const ready = (await get('/nodes/pve-a/lxc/120/config')).json.data;
    expect(ready).toMatchObject({ hostname: 'ct120.example.org', ostype: 'nixos', unprivileged: 1, memory: 512, swap: 512 });
    expect(ready.lock).toBeUndefined();
    expect(ready.rootfs).toBe('local-zfs:subvol-120-disk-0,size=8G');
    expect(ready.net0).toMatch(/^name=eth0,bridge=vmbr0,ip=dhcp,hwaddr=BC:24:11:[0-9A-F:]+,type=veth$/);
    expect(ready.digest).toMatch(/^[0-9a-f]{40}$/);
  });

  it('ends OK without warnings when nesting is on', async () => {
    const upid = await createCt(121, { features: 'nesting=1' });
    clock.advance(20_000);
    expect((await taskStatus(upid)).exitstatus).toBe('OK');
  });

  it('hands out the lowest free id without reserving it', async () => {
    const first = (await get('/cluster/nextid')).json.data;
    const second = (await get('/cluster/nextid')).json.data;
    expect([first, second]).toEqual(['100', '100']);
    await createCt(100);
    expect((await get('/cluster/nextid')).json.data).toBe('104');
    const taken = await get('/cluster/nextid?vmid=101');
    expect([taken.status, taken.json.errors]).toEqual([400, { vmid: 'VM 101 already exists' }]);
  });

  it('checks the config digest and power state', async () => {
    const config = (await get('/nodes/pve-c/lxc/103/config')).json.data;
    const stale = await request(sim, 'PUT', '/nodes/pve-c/lxc/103/config', { form: { memory: 2048, digest: '0'.repeat(40) } });
    expect(stale.json.message).toBe('detected modified configuration - file changed by other user? Try again.\n');
    const ok = await request(sim, 'PUT', '/nodes/pve-c/lxc/103/config', { form: { memory: 2048, digest: config.digest, delete: 'features' } });
    expect(ok.json).toEqual({ data: null });
    expect((await get('/nodes/pve-c/lxc/103/config')).json.data).toMatchObject({ memory: 2048 });

    const stop = await post('/nodes/pve-c/lxc/103/status/stop');
    expect([stop.status, stop.json.message]).toEqual([500, 'CT 103 not running\n']);
    const start = (await post('/nodes/pve-c/lxc/103/status/start')).json.data;
    clock.advance(2_000);
    expect((await taskStatus(start)).exitstatus).toBe('OK');
    expect((await get('/nodes/pve-c/lxc/103/status/current')).json.data).toMatchObject({ status: 'running', vmid: 103, type: 'lxc' });
    const again = await post('/nodes/pve-c/lxc/103/status/start');
    expect(again.json.message).toBe('CT 103 already running\n');
    const ifaces = (await get('/nodes/pve-c/lxc/103/interfaces')).json.data;
    expect(ifaces.map((i: { name: string }) => i.name)).toEqual(['lo', 'eth0']);
    expect(ifaces[1].inet).toMatch(/^10\.\d+\.\d+\.\d+\/16$/);

    const wrongNode = await get('/nodes/pve-a/lxc/103/config');
    expect(wrongNode.json.message).toBe("Configuration file 'nodes/pve-a/lxc/103.conf' does not exist\n");
    const destroyRunning = await request(sim, 'DELETE', '/nodes/pve-c/lxc/103');
    expect(destroyRunning.json.message).toBe('unable to destroy CT 103 - container is running\n');
  });

  it('enforces privilege separation of API tokens with PVE texts', async () => {
    const auditor = { ...sim, token: 'auditor@pve!readonly=3f1c9a52-7d1e-4c6b-9a0e-5b2f8d4e6a10' };
    expect((await request(auditor, 'GET', '/cluster/resources?type=vm')).json.data).toHaveLength(4);
    const create = await request(auditor, 'POST', '/nodes/pve-a/lxc', { form: { vmid: 130, ostemplate: NIXOS } });
    expect([create.status, create.reason]).toEqual([403, 'Permission check failed']);
    const stop = await request(auditor, 'POST', '/nodes/pve-a/lxc/101/status/stop');
    expect(stop.json).toEqual({ data: null, message: 'Permission check failed (/vms/101, VM.PowerMgmt)\n' });
    const update = await request(auditor, 'PUT', '/nodes/pve-a/lxc/101/config', { form: { memory: 1 } });
    expect(update.json.message).toBe(
      'Permission check failed (/vms/101, VM.Config.Disk|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.Options)\n',
    );
  });

  it('refuses API tokens on the login call and supports ticket logins', async () => {
    const withToken = await post('/access/ticket', { username: 'auditor@pve', password: 'auditor-demo' });
    expect([withToken.status, withToken.json.message]).toEqual([403, "URI '/access/ticket' not available with API token, need proper ticket.\n"]);
    const wrong = await request(sim, 'POST', '/access/ticket', { token: null, form: { username: 'auditor@pve', password: 'nope' } });
    expect([wrong.status, wrong.reason]).toEqual([401, 'authentication failure']);
    const login = await request(sim, 'POST', '/access/ticket', { token: null, form: { username: 'auditor@pve', password: 'auditor-demo' } });
    expect(login.json.data).toMatchObject({ username: 'auditor@pve', ticket: expect.stringMatching(/^PVE:auditor@pve:[0-9A-F]{8}::/) });
    const { ticket, CSRFPreventionToken } = login.json.data;
    const call = async (method: string, path: string, headers: Record<string, string>) =>
      (await request(sim, method, path, { token: null, headers: { Cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}`, ...headers } })).status;
    expect(await call('POST', '/nodes/pve-a/lxc/101/status/stop', { CSRFPreventionToken })).toBe(403);
  });

  it('lets only root@pam itself change feature flags other than nesting', async () => {
    const res = await post('/nodes/pve-a/lxc', { vmid: 131, ostemplate: NIXOS, rootfs: 'local-zfs:4', features: 'nesting=1,keyctl=1' });
    expect([res.status, res.json.message]).toEqual([403, 'changing feature flags (except nesting) is only allowed for root@pam\n']);
  });

  it('injects request faults, task failures and full storage', async () => {
    sim.faults.addRequestFault({ method: 'GET', path: '/nodes/*/status', status: 595, count: 1 });
    const unreachable = await get('/nodes/pve-a/status');
    expect([unreachable.status, unreachable.reason, unreachable.text]).toEqual([595, 'Connection refused', '']);
    expect((await get('/nodes/pve-a/status')).status).toBe(200);

    const viaHttp = await request(sim, 'POST', '/_sim/faults', { json: { request: { path: '/version', status: 500, message: 'boom', count: 2 } } });
    expect(viaHttp.status).toBe(200);
    expect((await get('/version')).json).toEqual({ data: null, message: 'boom\n' });
    expect((await get('/version')).status).toBe(500);
    expect((await get('/version')).status).toBe(200);

    sim.faults.addRequestFault({ path: '/cluster/status', delayMs: 150 });
    const started = Date.now();
    expect((await get('/cluster/status')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    sim.faults.addTaskFault({ type: 'vzcreate', error: 'unable to create CT 140 - command failed', count: 1 });
    const failing = await createCt(140);
    clock.advance(20_000);
    expect(await taskStatus(failing)).toMatchObject({ status: 'stopped', exitstatus: 'unable to create CT 140 - command failed' });
    expect((await get('/nodes/pve-a/lxc/140/config')).status).toBe(500);

    sim.faults.setStorageFull('pve-a', 'local-zfs');
    const full = await createCt(141, { features: 'nesting=1' });
    clock.advance(20_000);
    expect((await taskStatus(full)).exitstatus).toBe(
      "unable to create CT 141 - zfs error: cannot create 'rpool/data/subvol-141-disk-0': out of space",
    );
    const storage = (await get('/nodes/pve-a/storage/local-zfs/status')).json.data;
    expect(storage.avail).toBe(0);
  });

  it('reports per-guest backup failures as PVE does (job errors)', async () => {
    sim.faults.setStorageFull('pve-a', 'local');
    const upid = (await post('/nodes/pve-a/vzdump', { vmid: '101,110', storage: 'local', mode: 'snapshot' })).json.data;
    expect(upid).toMatch(/:vzdump::root@pam!fediversity:$/);
    clock.advance(90_000);
    expect((await taskStatus(upid)).exitstatus).toBe('job errors');
    const lines = (await get(`/nodes/pve-a/tasks/${encodeURIComponent(upid)}/log?limit=100`)).json.data.map((l: { t: string }) => l.t);
    expect(lines).toContain('ERROR: Backup of VM 101 failed - vzdump archive creation failed: write error: No space left on device');
    expect(lines.at(-1)).toBe('TASK ERROR: job errors');
    expect(sim.state.guests.get(101)!.config.lock).toBeUndefined();
  });

  it('stops a running task on DELETE', async () => {
    const upid = await createCt(150);
    expect((await request(sim, 'DELETE', `/nodes/pve-a/tasks/${encodeURIComponent(upid)}`)).json).toEqual({ data: null });
    expect(await taskStatus(upid)).toMatchObject({ status: 'stopped', exitstatus: 'interrupted by signal' });
    sim.faults.taskVisibilityDelayMs = 500;
    const fresh = (await post('/nodes/pve-a/lxc/110/status/stop')).json.data;
    expect((await get(`/nodes/pve-a/tasks/${encodeURIComponent(fresh)}/status`)).json.errors).toEqual({ upid: 'no such task' });
    clock.advance(500);
    expect((await taskStatus(fresh)).status).toBe('running');
    const unknown = await get(`/nodes/pve-a/tasks/${encodeURIComponent(upid.replace('vzcreate', 'vzstart'))}/status`);
    expect([unknown.status, unknown.json.errors]).toEqual([400, { upid: 'no such task' }]);
    const active = (await get('/nodes/pve-a/tasks?source=all&vmid=150&typefilter=vzcreate')).json.data;
    expect(active).toEqual([expect.objectContaining({ upid, status: 'interrupted by signal' })]);
  });

  it('snapshots, rolls back, clones, migrates, backs up and restores', async () => {
    const run = async (pending: Promise<WireResponse>, ms: number) => {
      const upid = (await pending).json.data;
      expect(typeof upid).toBe('string');
      clock.advance(ms);
      return taskStatus(upid);
    };
    expect(await run(post('/nodes/pve-a/lxc/110/snapshot', { snapname: 'before', description: 'x' }), 2_000)).toMatchObject({ exitstatus: 'OK' });
    await request(sim, 'PUT', '/nodes/pve-a/lxc/110/config', { form: { memory: 4096 } });
    const snaps = (await get('/nodes/pve-a/lxc/110/snapshot')).json.data;
    expect(snaps.map((s: { name: string }) => s.name)).toEqual(['before', 'current']);
    expect(await run(post('/nodes/pve-a/lxc/110/snapshot/before/rollback', { start: 1 }), 4_000)).toMatchObject({ exitstatus: 'OK' });
    expect((await get('/nodes/pve-a/lxc/110/config')).json.data).toMatchObject({ memory: 1024, parent: 'before' });
    expect(await run(post('/nodes/pve-a/lxc/110/snapshot', { snapname: 'before' }), 2_000)).toMatchObject({
      exitstatus: "snapshot name 'before' already used",
    });

    expect(await run(post('/nodes/pve-a/lxc/110/clone', { newid: 111, hostname: 'copy.example.org' }), 15_000)).toMatchObject({ exitstatus: 'OK' });
    expect((await get('/nodes/pve-a/lxc/111/config')).json.data).toMatchObject({ hostname: 'copy.example.org', rootfs: 'local-zfs:subvol-111-disk-0,size=8G' });

    const running = await post('/nodes/pve-a/lxc/110/migrate', { target: 'pve-b' });
    expect(running.json.message).toBe("can't migrate running container without --online or --restart\n");
    expect(await run(post('/nodes/pve-a/lxc/110/migrate', { target: 'pve-b', restart: 1 }), 30_000)).toMatchObject({ exitstatus: 'OK' });
    expect((await get('/nodes/pve-b/lxc/110/status/current')).json.data.status).toBe('running');
    expect((await get('/cluster/resources?type=vm')).json.data.find((r: { vmid: number }) => r.vmid === 110).node).toBe('pve-b');

    const dump = post('/nodes/pve-b/vzdump', { vmid: '110', storage: 'local', compress: 'zstd', 'notes-template': '{{guestname}}' });
    await dump;
    expect((await get('/nodes/pve-b/lxc/110/config')).json.data.lock).toBe('backup');
    expect(await run(dump, 45_000)).toMatchObject({ exitstatus: 'OK' });
    expect((await get('/nodes/pve-b/lxc/110/config')).json.data.lock).toBeUndefined();
    const backups = (await get('/nodes/pve-b/storage/local/content?content=backup&vmid=110')).json.data;
    expect(backups).toEqual([expect.objectContaining({ vmid: 110, notes: 'dns.demo.fediversity.test', format: 'tar.zst' })]);
    expect(backups[0].volid).toMatch(/^local:backup\/vzdump-lxc-110-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.tar\.zst$/);

    expect(await run(post('/nodes/pve-b/lxc', { vmid: 160, ostemplate: backups[0].volid, restore: 1, storage: 'local-zfs' }), 30_000)).toMatchObject({
      type: 'vzrestore',
      exitstatus: 'OK',
    });
    expect((await get('/nodes/pve-b/lxc/160/config')).json.data).toMatchObject({ hostname: 'dns.demo.fediversity.test', memory: 1024, ostype: 'debian' });
  });

  it('rejects unknown nodes as pveproxy does and offline ones with 595', async () => {
    const unknown = await get('/nodes/nowhere/lxc');
    expect(unknown.status).toBe(500);
    expect(unknown.json.message).toMatch(/^hostname lookup 'nowhere' failed/);
    sim.state.nodes.get('pve-c')!.online = false;
    expect((await get('/nodes/pve-c/lxc')).status).toBe(595);
  });
});

describe('task speed factor', () => {
  it('divides task durations by the speed', async () => {
    const clock = new ManualClock();
    const sim = await startPveSimulator({ http: true, clock, speed: 10, authFailureDelayMs: 0 });
    try {
      const upid = (await request(sim, 'POST', '/nodes/pve-a/lxc/110/status/stop')).json.data;
      const status = async () => (await request(sim, 'GET', `/nodes/pve-a/tasks/${encodeURIComponent(upid)}/status`)).json.data.status;
      clock.advance(99);
      expect(await status()).toBe('running');
      clock.advance(1);
      expect(await status()).toBe('stopped');
    } finally {
      await sim.close();
    }
  });
});

describe('PVE simulator over HTTPS', () => {
  it('serves a self-signed certificate whose fingerprint it reports', async () => {
    const sim = await startPveSimulator({ authFailureDelayMs: 0 });
    try {
      expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(sim.token).toMatch(/^root@pam!fediversity=[0-9a-f-]{36}$/);
      const res = await request(sim, 'GET', '/nodes');
      expect(res.json.data.map((n: { node: string }) => n.node)).toEqual(['pve-a', 'pve-b', 'pve-c']);
      expect(res.json.data[0].ssl_fingerprint).toBe(sim.fingerprint);
      const info = (await request(sim, 'GET', '/nodes/pve-b/certificates/info')).json.data;
      expect(info).toEqual([expect.objectContaining({ filename: 'pve-ssl.pem', fingerprint: sim.fingerprint, pem: sim.caPem, 'public-key-bits': 2048 })]);
    } finally {
      await sim.close();
    }
  });
});
