import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mockCredentials, mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { dataClassesSchema } from '@fediversity/plugin-fediversity-common';
import { PveCluster, StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import express from 'express';
import request from 'supertest';
import { parse } from 'yaml';
import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import { DrillStore } from '../backups/DrillStore';
import { backupCreateJobKind } from '../backups/backupJobKind';
import { drillJobKind, restoreInPlaceJobKind, restoreJobKind } from '../backups/jobKinds';
import { ManifestStore } from '../backups/ManifestStore';
import { InstanceStore } from '../instances/InstanceStore';
import { applyInstanceMigrations } from '../instances/migrations';
import { mastodonRequest } from '../instances/testFixtures';
import { CreateInstanceRequest } from '../instances/types';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { JobStore } from '../jobs/JobStore';
import { applyMigrations } from '../jobs/migrations';
import { ReplicationExecutor } from './executor';
import { replicationRunJobKind } from './replicationJobKind';
import { createReplicationRouter } from './router';
import { ScheduleStore } from './ScheduleStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ENTITY = 'component:default/mastodon-social-example-org';
const OWNER = 'user:default/mock';
const HOST = { host: '10.0.0.1', username: 'root', hostPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl' };

/** The catalog's own Mastodon definition: what a backup covers comes from it. */
const MASTODON_DATA_CLASSES = dataClassesSchema.parse(
  parse(readFileSync(join(__dirname, '../../../../catalog/apps/mastodon.yaml'), 'utf8')).spec.dataClasses,
);

let simulator: PveSimulator;
let demoCluster: PveCluster;
let closeCluster: () => void;

beforeAll(async () => {
  simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 0 });
  const { cluster, close } = simulatorCluster(simulator, 'demo');
  demoCluster = cluster;
  closeCluster = close;
});
afterEach(() => simulator.faults.clear());
afterAll(async () => {
  closeCluster?.();
  await simulator?.close();
});

/** The routes over the simulator's `demo` cluster, with the Mastodon instance recorded (on `placement` if given). */
async function app(options: { placement?: Partial<CreateInstanceRequest>; formerGuestTimeoutMs?: number } = {}) {
  const knex = await databases.init('SQLITE_3');
  await applyMigrations(knex);
  await applyInstanceMigrations(knex);
  const instances = new InstanceStore(knex);
  const { instance } = await instances.create({ ...mastodonRequest, ...options.placement }, OWNER);
  const schedules = new ScheduleStore(knex);
  const drills = new DrillStore(knex);
  const jobs = new JobStore(knex);
  const manifests = new ManifestStore(knex);
  const clusters = new StaticPveClusters([demoCluster]);
  const executor = new ReplicationExecutor({ connect: async () => { throw new Error('unused'); }, s3Credentials: () => { throw new Error('unused'); } });
  const permissions = mockServices.permissions.mock({
    authorize: async (requests, authorizeOptions) => {
      const principal = authorizeOptions.credentials.principal as { type: string; userEntityRef?: string };
      const allowed = principal.type === 'user' && principal.userEntityRef === OWNER;
      return requests.map(() => ({ result: allowed ? AuthorizeResult.ALLOW : AuthorizeResult.DENY }));
    },
  });
  const router = createReplicationRouter({
    schedules, drills, instances, jobs, clusters, manifests,
    appDataClasses: async appRef => {
      if (appRef !== 'component:default/mastodon') throw new Error(`unexpected app ${appRef}`);
      return MASTODON_DATA_CLASSES;
    },
    kinds: {
      run: replicationRunJobKind(schedules, executor),
      restore: restoreJobKind(clusters),
      restoreInPlace: restoreInPlaceJobKind(clusters),
      drill: drillJobKind(clusters, drills),
      backup: backupCreateJobKind(clusters, manifests, undefined),
    },
    httpAuth: mockServices.httpAuth({ pluginId: 'fediversity' }),
    permissions,
    now: () => Date.parse('2026-11-25T22:00:00Z'),
    formerGuestTimeoutMs: options.formerGuestTimeoutMs,
  });
  const logger = mockServices.logger.mock();
  const server = express().use(router).use(MiddlewareFactory.create({ logger, config: mockServices.rootConfig() }).error());
  return { server, jobs, schedules, instances, instance, manifests };
}

/** Backs a guest of the simulator up with vzdump to `local` and returns the archive's volid. */
async function vzdumpOf(node: string, vmid: number): Promise<string> {
  const { client } = demoCluster;
  await client.waitForTask(await client.vzdump(node, { vmids: [vmid], storage: 'local', mode: 'snapshot' }));
  const [newest] = (await client.listBackups(node, 'local', vmid)).sort((a, b) => (b.ctime ?? 0) - (a.ctime ?? 0));
  return newest.volid;
}

async function snapshotOf(node: string, vmid: number, snapname: string) {
  const { client } = demoCluster;
  await client.waitForTask(await client.createSnapshot({ node, vmid, type: 'lxc' }, { snapname }));
}

async function destroyGuest(node: string, vmid: number) {
  const { client } = demoCluster;
  await client.waitForTask(await client.deleteGuest({ node, vmid, type: 'lxc' }, { force: true }));
}

/** A placement on the simulator's demo cluster, as relocate takes it. */
function demoPlacement(node: string, vmid: number, storage = 'local-zfs') {
  return { cluster: 'demo', node, vmid, storage, storageShared: false };
}

describe('replication and backup routes', () => {
  it('lets the owner create, edit and run a schedule, and read recovery points; others get 403', async () => {
    const { server, jobs, schedules } = await app();
    const created = await request(server).post('/replication/schedules').send({
      entityRef: ENTITY,
      dataClass: 'media',
      strategy: 'zfs',
      intervalSeconds: 600,
      params: { source: { host: HOST, dataset: 'tank/mastodon' }, target: { host: { ...HOST, host: '10.0.0.2' }, dataset: 'backup/mastodon' } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ entityRef: ENTITY, strategy: 'zfs', intervalSeconds: 600, params: { keepSnapshots: 3 } });

    const patched = await request(server).patch(`/replication/schedules/${created.body.id}`).send({ intervalSeconds: 300 });
    expect(patched.body.intervalSeconds).toBe(300);
    const list = await request(server).get('/replication/schedules').query({ entityRef: ENTITY });
    expect(list.body.items).toHaveLength(1);

    const run = await request(server).post(`/replication/schedules/${created.body.id}/run`);
    expect(run.status).toBe(201);
    expect(await jobs.getJob(run.body.jobId)).toMatchObject({ kind: 'replication.run', entityRef: ENTITY, status: 'queued', createdBy: OWNER });

    await schedules.recordRecoveryPoint(created.body.id, { consistentAt: Date.parse('2026-11-25T21:59:00Z'), detail: { snapshot: 's1', guid: '42' } }, 0);
    const points = await request(server).get('/replication/recovery-points').query({ entityRef: ENTITY });
    expect(points.body.items).toEqual([expect.objectContaining({ dataClass: 'media', ageSeconds: 60, detail: { snapshot: 's1', guid: '42' } })]);

    // Every accepted point is kept for the plot; one older than the newest (a late retry) is not.
    await schedules.recordRecoveryPoint(created.body.id, { consistentAt: Date.parse('2026-11-25T21:59:30Z'), detail: {} }, 1);
    await schedules.recordRecoveryPoint(created.body.id, { consistentAt: Date.parse('2026-11-25T21:00:00Z'), detail: {} }, 2);
    const history = await request(server).get('/replication/recovery-points/history').query({ entityRef: ENTITY });
    expect(history.status).toBe(200);
    expect(history.body.items).toEqual([
      expect.objectContaining({ scheduleId: created.body.id, dataClass: 'media', consistentAt: Date.parse('2026-11-25T21:59:00Z'), recordedAt: 0 }),
      expect.objectContaining({ consistentAt: Date.parse('2026-11-25T21:59:30Z'), recordedAt: 1 }),
    ]);
    const runs = await request(server).get('/replication/runs').query({ entityRef: ENTITY });
    expect(runs.body.items).toEqual([
      expect.objectContaining({ jobId: run.body.jobId, scheduleId: created.body.id, dataClass: 'media', status: 'queued', createdBy: OWNER }),
    ]);
    for (const path of ['/replication/recovery-points/history', '/replication/runs']) {
      const other = await request(server).get(path).query({ entityRef: ENTITY }).set('Authorization', mockCredentials.user.header('user:default/mallory'));
      expect(other.status).toBe(403);
    }

    const denied = await request(server).get('/replication/schedules').query({ entityRef: ENTITY }).set('Authorization', mockCredentials.user.header('user:default/mallory'));
    expect(denied.status).toBe(403);
    const bad = await request(server).post('/replication/schedules').send({ entityRef: ENTITY, dataClass: 'db', strategy: 'rsync', params: { source: { host: HOST, path: '/srv/../etc' } } });
    expect(bad.status).toBe(400);
  });

  it('starts restores (in place waits for approval) and drills for the instance guest', async () => {
    const { server, jobs } = await app();
    const volid = 'local:backup/vzdump-lxc-104-2026_11_25-21_00_00.tar.zst';
    const fresh = await request(server).post('/restores').send({ entityRef: ENTITY, volid });
    expect(fresh.status).toBe(201);
    expect(await jobs.getJob(fresh.body.jobId)).toMatchObject({
      kind: 'backup.restore',
      params: { guest: { cluster: 'demo', node: 'pve-a', vmid: 104 }, volid, storage: 'local-zfs' },
    });
    const inPlace = await request(server).post('/restores').send({ entityRef: ENTITY, volid, mode: 'in-place' });
    expect(inPlace.body.kind).toBe('backup.restore-in-place');
    const drill = await request(server).post('/drills').send({ entityRef: ENTITY });
    expect(drill.body.kind).toBe('backup.drill');
    expect((await request(server).get('/drills').query({ entityRef: ENTITY })).body.items).toEqual([]);
    const unknown = await request(server).post('/drills').send({ entityRef: 'component:default/nope' });
    expect(unknown.status).toBe(404);
    const badVolid = await request(server).post('/restores').send({ entityRef: ENTITY, volid: 'local:../../etc/passwd' });
    expect(badVolid.status).toBe(400);
  });

  it('lets only owners pause, resume, re-time, run or delete a schedule: 401 without credentials, 403 for others', async () => {
    const { server, jobs, schedules } = await app();
    const created = await request(server).post('/replication/schedules').send({
      entityRef: ENTITY,
      dataClass: 'uploads',
      strategy: 'rsync',
      params: { source: { host: HOST, path: '/var/lib/hedgedoc/uploads' }, target: { host: { ...HOST, host: '10.0.0.2' }, root: '/srv/replica' } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const path = `/replication/schedules/${id}`;
    const anonymous = mockCredentials.none.header();
    const mallory = mockCredentials.user.header('user:default/mallory');

    for (const auth of [anonymous, mallory]) {
      const expected = auth === anonymous ? 401 : 403;
      expect((await request(server).patch(path).set('Authorization', auth).send({ enabled: false })).status).toBe(expected);
      expect((await request(server).patch(path).set('Authorization', auth).send({ intervalSeconds: 120 })).status).toBe(expected);
      expect((await request(server).post(`${path}/run`).set('Authorization', auth)).status).toBe(expected);
      expect((await request(server).delete(path).set('Authorization', auth)).status).toBe(expected);
      expect((await request(server).get(path).set('Authorization', auth)).status).toBe(expected);
    }
    expect(await schedules.get(id)).toMatchObject({ enabled: true, intervalSeconds: 900 });
    expect(await jobs.listJobs({ entityRefs: [ENTITY] })).toHaveLength(0);

    const paused = await request(server).patch(path).send({ enabled: false, intervalSeconds: 120 });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ enabled: false, intervalSeconds: 120 });
    expect(await schedules.due(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect((await request(server).patch(path).send({ enabled: true })).body.enabled).toBe(true);
    expect((await request(server).patch(path).send({ intervalSeconds: 10 })).status).toBe(400);
    expect((await request(server).delete(path)).status).toBe(204);
    expect((await request(server).get(path)).status).toBe(404);
  });

  it('starts a backup with a file manifest for owners only, covering what the app definition names', async () => {
    const { server, jobs } = await app();
    const started = await request(server).post('/backups').send({ entityRef: ENTITY });
    expect(started.status).toBe(201);
    expect(await jobs.getJob(started.body.jobId)).toMatchObject({
      kind: 'backup.create',
      params: {
        guest: { cluster: 'demo', node: 'pve-a', vmid: 104 },
        storage: 'local',
        directories: ['/var/lib/mastodon'],
        // Each command once: the app stops before its Redis, Redis starts before the app.
        quiesce: [['systemctl', 'stop', 'mastodon.target', 'mastodon-*.service'], ['systemctl', 'stop', 'redis-mastodon.service']],
        unquiesce: [['systemctl', 'start', 'redis-mastodon.service'], ['systemctl', 'start', 'mastodon.target']],
      },
    });
    const other = await request(server).post('/backups').set('Authorization', mockCredentials.user.header('user:default/mallory')).send({ entityRef: ENTITY });
    expect(other.status).toBe(403);
    // Commands and paths are never taken from the request.
    const smuggled = await request(server).post('/backups').send({ entityRef: ENTITY, directories: ['/etc'], quiesce: [['rm', '-rf', '/']] });
    expect(smuggled.status).toBe(400);
  });

  it('lists the vzdump archives of the guests the instance ran on before, marked as former, but not their snapshots', async () => {
    // The instance ran on 103 (left, destroyed since: its archive stays), then 102 (left, still there), now 101.
    const destroyedGuestArchive = await vzdumpOf('pve-c', 103);
    await destroyGuest('pve-c', 103);
    const leftGuestArchive = await vzdumpOf('pve-b', 102);
    await snapshotOf('pve-b', 102, 'left-behind');
    const currentArchive = await vzdumpOf('pve-a', 101);
    await snapshotOf('pve-a', 101, 'before-upgrade');
    const { server, instances, instance, manifests } = await app({ placement: { node: 'pve-c', vmid: 103 } });
    await instances.relocate(instance.id, demoPlacement('pve-b', 102));
    await instances.relocate(instance.id, demoPlacement('pve-a', 101));
    await manifests.record({ backupId: destroyedGuestArchive, entityRef: ENTITY, directories: ['/var/lib/mastodon'], files: {}, takenAt: 0 });

    const listed = await request(server).get('/backups').query({ entityRef: ENTITY });
    expect(listed.status).toBe(200);
    expect(listed.body.unavailable).toEqual([]);
    const items: Array<Record<string, unknown> & { id: string; takenAt: number }> = listed.body.items;
    expect(items.map(item => item.id).sort()).toEqual([currentArchive, 'before-upgrade', leftGuestArchive, destroyedGuestArchive].sort());
    const byId = new Map(items.map(item => [item.id, item]));
    expect(byId.get(currentArchive)).toMatchObject({ type: 'vzdump', restorable: true, guest: { cluster: 'demo', node: 'pve-a', vmid: 101 } });
    expect(byId.get(currentArchive)).not.toHaveProperty('former');
    expect(byId.get('before-upgrade')).toMatchObject({ type: 'pve-snapshot', guest: { cluster: 'demo', node: 'pve-a', vmid: 101 } });
    expect(byId.get(leftGuestArchive)).toMatchObject({ type: 'vzdump', restorable: true, former: true, guest: { cluster: 'demo', node: 'pve-b', vmid: 102 } });
    expect(byId.get(leftGuestArchive)).not.toHaveProperty('checksums');
    expect(byId.get(destroyedGuestArchive)).toMatchObject({ former: true, checksums: true, guest: { cluster: 'demo', node: 'pve-c', vmid: 103 } });
    expect(items.map(item => item.takenAt)).toEqual(items.map(item => item.takenAt).sort((a, b) => b - a));

    const other = await request(server).get('/backups').query({ entityRef: ENTITY }).set('Authorization', mockCredentials.user.header('user:default/mallory'));
    expect(other.status).toBe(403);
  });

  it('reports the former guests it cannot list as unavailable, without secrets, and lists everything else', async () => {
    const currentArchive = await vzdumpOf('pve-a', 110);
    const { server, instances, instance } = await app({ placement: { cluster: 'gone', node: 'pve-x', vmid: 300 }, formerGuestTimeoutMs: 300 });
    await instances.relocate(instance.id, demoPlacement('pve-b', 102));
    await instances.relocate(instance.id, demoPlacement('pve-c', 103));
    await instances.relocate(instance.id, demoPlacement('pve-a', 110));
    // pve-b's storage listing fails (every retry), pve-c's does not answer in time.
    simulator.faults.addRequestFault({ method: 'GET', path: '/nodes/pve-b/storage', status: 500, message: 'storage backend hung', count: 10 });
    simulator.faults.addRequestFault({ method: 'GET', path: '/nodes/pve-c/storage', delayMs: 5_000 });

    const listed = await request(server).get('/backups').query({ entityRef: ENTITY });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([currentArchive]);
    expect(listed.body.unavailable).toEqual([
      { guest: { cluster: 'demo', node: 'pve-c', vmid: 103 }, message: 'Proxmox did not answer within 0.3 s' },
      {
        guest: { cluster: 'demo', node: 'pve-b', vmid: 102 },
        message: expect.stringMatching(/^Could not list its backups: GET \/nodes\/pve-b\/storage failed \(500\): storage backend hung/),
      },
      { guest: { cluster: 'gone', node: 'pve-x', vmid: 300 }, message: 'The cluster gone is not configured any more' },
    ]);
    const tokenSecret = simulator.token.slice(simulator.token.lastIndexOf('=') + 1);
    expect(JSON.stringify(listed.body)).not.toContain(tokenSecret);
  });

  it("restores a former guest's archive as a new guest where it lives, on that guest's storage by default", async () => {
    const { server, jobs, instances, instance } = await app();
    await instances.relocate(instance.id, { cluster: 'demo', node: 'pve-b', vmid: 120, storage: 'ceph', storageShared: true });
    const from = { cluster: 'demo', node: 'pve-a', vmid: 104 };
    const volid = 'local:backup/vzdump-lxc-104-2026_11_25-21_00_00.tar.zst';

    const restored = await request(server).post('/restores').send({ entityRef: ENTITY, volid, from });
    expect(restored.status).toBe(201);
    expect(await jobs.getJob(restored.body.jobId)).toMatchObject({
      kind: 'backup.restore',
      createdBy: OWNER,
      params: { guest: from, volid, storage: 'local-zfs' },
    });
    const elsewhere = await request(server).post('/restores').send({ entityRef: ENTITY, volid, from, storage: 'big-zfs' });
    expect(await jobs.getJob(elsewhere.body.jobId)).toMatchObject({ params: { guest: from, storage: 'big-zfs' } });
    // Without `from`, the archive is the current guest's, and its disks go to the current storage.
    const currentVolid = 'local:backup/vzdump-lxc-120-2026_11_26-01_00_00.tar.zst';
    const current = await request(server).post('/restores').send({ entityRef: ENTITY, volid: currentVolid });
    expect(await jobs.getJob(current.body.jobId)).toMatchObject({ params: { guest: { cluster: 'demo', node: 'pve-b', vmid: 120 }, storage: 'ceph' } });
  });

  it('refuses restores from a former guest in place, from a guest that is not a former one, of another guest\'s archive, and by others', async () => {
    const { server, jobs, instances, instance } = await app();
    await instances.relocate(instance.id, demoPlacement('pve-b', 120));
    const from = { cluster: 'demo', node: 'pve-a', vmid: 104 };
    const volid = 'local:backup/vzdump-lxc-104-2026_11_25-21_00_00.tar.zst';
    const restore = (body: object, auth?: string) => {
      const post = request(server).post('/restores');
      return (auth ? post.set('Authorization', auth) : post).send({ entityRef: ENTITY, ...body });
    };

    const inPlace = await restore({ volid, from, mode: 'in-place' });
    expect(inPlace.status).toBe(400);
    expect(inPlace.body.error.message).toBe(
      "A backup of a former guest is restored as a new guest only: in place replaces the instance's current guest, guest 120 on demo/pve-b",
    );
    const notFormer = await restore({ volid: 'local:backup/vzdump-lxc-105-2026_11_25-21_00_00.tar.zst', from: { ...from, vmid: 105 } });
    expect(notFormer.status).toBe(400);
    expect(notFormer.body.error.message).toBe('guest 105 on demo/pve-a is not a former guest of mastodon-social-example-org');
    const otherNode = await restore({ volid, from: { ...from, node: 'pve-c' } });
    expect(otherNode.body.error.message).toMatch(/is not a former guest/);
    const foreignArchive = await restore({ volid: 'local:backup/vzdump-lxc-1040-2026_11_25-21_00_00.tar.zst', from });
    expect(foreignArchive.status).toBe(400);
    expect(foreignArchive.body.error.message).toBe('local:backup/vzdump-lxc-1040-2026_11_25-21_00_00.tar.zst is not a vzdump archive of guest 104');
    // Authorization comes first and is as for any restore: others learn nothing about the former guests.
    const mallory = mockCredentials.user.header('user:default/mallory');
    expect((await restore({ volid, from }, mallory)).status).toBe(403);
    expect((await restore({ volid, from: { ...from, vmid: 105 } }, mallory)).status).toBe(403);
    expect((await restore({ volid, from }, mockCredentials.none.header())).status).toBe(401);
    expect(await jobs.listJobs({ entityRefs: [ENTITY] })).toEqual([]);
  });
});
