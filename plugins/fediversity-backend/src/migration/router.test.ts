import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import { mockCredentials, mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { dataClassesSchema } from '@fediversity/plugin-fediversity-common';
import {
  ClusterGuestAccess,
  parsePublicKeyLine,
  PveCluster,
  sha256Fingerprint,
  StaticPveClusters,
} from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import express from 'express';
import request from 'supertest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { InstanceStore } from '../instances/InstanceStore';
import { applyInstanceMigrations } from '../instances/migrations';
import { mastodonRequest } from '../instances/testFixtures';
import { JobStore } from '../jobs/JobStore';
import { applyMigrations } from '../jobs/migrations';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { MIGRATION_JOB_KIND, migrationJobKind } from './migrationJobKind';
import { migrationJobParamsSchema, migrationParamsSchema } from './params';
import { readMigrationPlanConfig } from './planConfig';
import { MigrationPlanner } from './planner';
import { sshPeerKeyInstaller } from './planPeerKey';
import { sshHostProbe } from './planProbe';
import { createMigrationRouter } from './router';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const OWNER = 'user:default/owner';
const STRANGER = 'user:default/stranger';
const ENTITY = 'component:default/mastodon-social-example-org';
const TARGET = { cluster: 'demo', node: 'pve-b', storage: 'local-zfs' };
/** Some other host's key, for pinning the wrong one. */
const OTHER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const mastodon = {
  name: 'mastodon',
  dataClasses: dataClassesSchema.parse(
    parse(readFileSync(join(__dirname, '../../../../catalog/apps/mastodon.yaml'), 'utf8')).spec.dataClasses,
  ),
  identityPaths: [],
};

let simulator: PveSimulator;
let demoCluster: PveCluster;
let closeCluster: () => void;
let dataDir: string;
let guestAccess: ClusterGuestAccess;

beforeAll(async () => {
  simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 0 });
  const { cluster, close } = simulatorCluster(simulator, 'demo', true);
  demoCluster = cluster;
  closeCluster = close;
  dataDir = await mkdtemp(join(tmpdir(), 'fediversity-migration-routes-'));
  guestAccess = new ClusterGuestAccess({ keyFile: join(dataDir, 'portal_ed25519'), demoDataDir: join(dataDir, 'demo-hosts'), logger: mockServices.logger.mock() });
});

afterAll(async () => {
  await guestAccess?.stop();
  closeCluster?.();
  await simulator?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Guest 101 of the demo topology runs on pve-a; its demo guest holds Mastodon's state directory. */
async function demoInstance(instances: InstanceStore, overrides: Partial<typeof mastodonRequest> = {}) {
  const endpoint = await guestAccess.prepare(demoCluster, { vmid: 101, hostname: 'social' });
  await mkdir(join(dataDir, 'demo-hosts', 'guests', 'ct-101', 'root', 'var', 'lib', 'mastodon'), { recursive: true });
  const { instance } = await instances.create(
    {
      ...mastodonRequest,
      vmid: 101,
      node: 'pve-a',
      ssh: {
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.username,
        hostKey: endpoint.hostKey!,
        hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(endpoint.hostKey!).blob),
        trust: 'demo',
      },
      ...overrides,
    },
    OWNER,
  );
  return instance;
}

async function app(overrides: Partial<ConstructorParameters<typeof MigrationPlanner>[0]> = {}) {
  const knex = await databases.init('SQLITE_3');
  await applyMigrations(knex);
  await applyInstanceMigrations(knex);
  const instances = new InstanceStore(knex);
  const jobs = new JobStore(knex);
  const clusters = new StaticPveClusters([demoCluster]);
  const planner = new MigrationPlanner({
    instances,
    jobs,
    clusters,
    guestAccess,
    appDefinition: async ref => {
      if (ref !== 'component:default/mastodon') throw new Error(`unexpected app ${ref}`);
      return mastodon;
    },
    probe: sshHostProbe(),
    peerKeys: sshPeerKeyInstaller(),
    config: readMigrationPlanConfig(mockServices.rootConfig()),
    ...overrides,
  });
  const permissions = mockServices.permissions.mock({
    authorize: async (requests, options) => {
      const principal = options.credentials.principal as { type: string; userEntityRef?: string };
      const allowed = principal.type === 'user' && principal.userEntityRef === OWNER;
      return requests.map(() => ({ result: allowed ? AuthorizeResult.ALLOW : AuthorizeResult.DENY }));
    },
  });
  const kind = migrationJobKind({ connect: async () => { throw new Error('no job runs in route tests'); } });
  const router = createMigrationRouter({
    planner,
    jobs,
    kind,
    httpAuth: mockServices.httpAuth({ pluginId: 'fediversity' }),
    permissions,
  });
  const logger = mockServices.logger.mock();
  const server = express().use(router).use(MiddlewareFactory.create({ logger, config: mockServices.rootConfig() }).error());
  return { server, instances, jobs };
}

const owner = mockCredentials.user.header(OWNER);
const stranger = mockCredentials.user.header(STRANGER);
const nobody = mockCredentials.none.header();
const body = { entityRef: ENTITY, target: TARGET };

async function demoGuestExists(vmid: number) {
  return stat(join(dataDir, 'demo-hosts', 'guests', `ct-${vmid}`)).then(() => true, () => false);
}

describe('migration routes', () => {
  it.each(['/migrations/preflight', '/migrations'])('%s: unauthenticated is 401, a non-owner 403', async path => {
    const { server, instances, jobs } = await app();
    await demoInstance(instances);
    expect((await request(server).post(path).set('Authorization', nobody).send(body)).status).toBe(401);
    const denied = await request(server).post(path).set('Authorization', stranger).send(body);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toBe(`Not allowed: fediversity.job.create on ${ENTITY}`);
    expect(await jobs.listJobs({})).toEqual([]);
  });

  it('preflight of a demo instance passes, says what moves and what does not, and changes nothing', async () => {
    const { server, instances, jobs } = await app();
    await demoInstance(instances);
    const before = (await demoCluster.client.getClusterResources('vm')).length;
    const res = await request(server).post('/migrations/preflight').set('Authorization', owner).send(body);
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    const byName = Object.fromEntries(res.body.checks.map((check: any) => [check.name, check]));
    expect(byName['target node']).toEqual({ name: 'target node', ok: true, message: 'pve-b is online' });
    expect(byName['target storage'].message).toMatch(/^local-zfs: \d+ GiB free, 64 GiB needed$/);
    expect(byName['data class database']).toEqual({
      name: 'data class database',
      ok: true,
      message: 'demo guest: no database runs here; files and identity move',
    });
    expect(byName['source host'].message).toMatch(/^ct-101@127\.0\.0\.1:\d+ answers with the pinned key SHA256:/);
    expect(byName['no other migration'].ok).toBe(true);
    expect((await demoCluster.client.getClusterResources('vm')).length).toBe(before);
    expect(await jobs.listJobs({})).toEqual([]);
  });

  it('preflight fails clearly: same node, unknown storage, missing data directory, unknown instance', async () => {
    const { server, instances } = await app();
    await demoInstance(instances);
    const same = await request(server).post('/migrations/preflight').set('Authorization', owner).send({ entityRef: ENTITY, target: { ...TARGET, node: 'pve-a' } });
    expect(same.body.ok).toBe(false);
    expect(same.body.checks).toContainEqual({ name: 'target differs', ok: false, message: 'the instance already runs on pve-a' });
    const storage = await request(server).post('/migrations/preflight').set('Authorization', owner).send({ entityRef: ENTITY, target: { ...TARGET, storage: 'nope' } });
    expect(storage.body.checks).toContainEqual({
      name: 'target storage',
      ok: false,
      message: 'nope on pve-b does not hold container disks (choices: local, local-zfs)',
    });
    await rm(join(dataDir, 'demo-hosts', 'guests', 'ct-101', 'root', 'var', 'lib', 'mastodon'), { recursive: true });
    const missing = await request(server).post('/migrations/preflight').set('Authorization', owner).send(body);
    expect(missing.body.checks).toContainEqual({
      name: 'source host',
      ok: false,
      message: expect.stringMatching(/^ct-101@127\.0\.0\.1:\d+: \/var\/lib\/mastodon missing on the source$/),
    });
    const unknown = await request(server).post('/migrations/preflight').set('Authorization', owner).send({ entityRef: 'component:default/nothing', target: TARGET });
    expect(unknown.status).toBe(404);
  });

  it('a source presenting another key than the pinned one is reported unreachable, not trusted', async () => {
    const { server, instances } = await app();
    const instance = await demoInstance(instances);
    await instances.relocate(instance.id, {
      ...instance,
      ssh: { ...instance.ssh!, hostKey: OTHER_KEY, hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(OTHER_KEY).blob) },
    });
    const res = await request(server).post('/migrations/preflight').set('Authorization', owner).send(body);
    expect(res.body.ok).toBe(false);
    expect(res.body.checks).toContainEqual({
      name: 'source host',
      ok: false,
      message: expect.stringMatching(/unreachable with the pinned key: Host key verification failed/),
    });
  });

  it('starts a migration: 202 with the job, params for the planned target guest, whose demo guest exists', async () => {
    const { server, instances, jobs } = await app();
    await demoInstance(instances);
    const res = await request(server).post('/migrations').set('Authorization', owner).send(body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ jobId: expect.any(String), kind: MIGRATION_JOB_KIND, status: 'queued' });
    const [job] = await jobs.listJobs({});
    expect(job).toMatchObject({ id: res.body.jobId, entityRef: ENTITY, createdBy: OWNER });
    const params = migrationParamsSchema.parse(job.params);
    const vmid = params.provision!.vmid!;
    expect(params.provision).toMatchObject({ cluster: 'demo', node: 'pve-b', storage: 'local-zfs', diskGb: 64, memoryMb: 8192, cores: 4 });
    expect(params.provision!.ostemplate).toMatch(/nixos/);
    expect(params.source).toMatchObject({ username: 'ct-101', privateKey: { secretRef: 'guest-access.demo' } });
    // The guest a decommission job may destroy once the migration completed: the instance's current one.
    expect(params.sourceGuest).toEqual({ cluster: 'demo', node: 'pve-a', vmid: 101 });
    expect(params.target).toMatchObject({ username: `ct-${vmid}`, port: params.source.port, hostKey: params.source.hostKey });
    expect(params.app.dataClasses.map(dataClass => dataClass.name)).toEqual(['state']);
    expect(params.source.postgres).toBeUndefined();
    expect(await demoGuestExists(vmid)).toBe(true);
    // The source may log in to the new target for the copy, with a key made for this migration only.
    expect(params.peer.identityFile).toMatch(/^\/root\/\.ssh\/fediversity-migration-[0-9a-f]{8}$/);
    const guestFile = (guest: string, path: string) => readFile(join(dataDir, 'demo-hosts', 'guests', guest, 'root', path), 'utf8');
    expect(await guestFile('ct-101', params.peer.identityFile)).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect(await guestFile(`ct-${vmid}`, '/root/.ssh/authorized_keys')).toMatch(/^ssh-ed25519 \S+ fediversity-migration-[0-9a-f]{8}\n$/);
    expect(JSON.stringify(job.params)).not.toMatch(/PRIVATE KEY/);

    // The instance now has a migration in flight: a second one is refused with the checks.
    const again = await request(server).post('/migrations').set('Authorization', owner).send(body);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/^The preflight failed: no other migration: migration .* is queued$/);
    expect(again.body.checks).toContainEqual(expect.objectContaining({ name: 'no other migration', ok: false }));
    expect(await jobs.listJobs({})).toHaveLength(1);
  });

  it('starts a migration to a new guest on a real cluster: its address and host key are bound after provisioning', async () => {
    const real = simulatorCluster(simulator, 'pve');
    try {
      const realAccess = {
        clientKey: (cluster: PveCluster) => guestAccess.clientKey(cluster),
        prepare: () => Promise.reject(new Error('a real guest is not prepared when planning')),
      };
      const { server, instances, jobs } = await app({
        clusters: new StaticPveClusters([demoCluster, real.cluster]),
        guestAccess: realAccess,
        // The source's login is the probe's own test; here it answers as a reachable host holding the paths.
        probe: async () => ({ reachable: true, missing: [] }),
        appDefinition: async () => ({ ...mastodon, dataClasses: mastodon.dataClasses.filter(d => ['database', 'state'].includes(d.name)) }),
        config: { ...readMigrationPlanConfig(mockServices.rootConfig()), dnsZones: ['example.org.'] },
      });
      const hostKey = OTHER_KEY;
      await instances.create(
        {
          ...mastodonRequest,
          cluster: 'pve',
          demo: false,
          vmid: 101,
          node: 'pve-a',
          ssh: { host: '10.10.1.4', port: 22, username: 'root', hostKey, hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(hostKey).blob), trust: 'tofu' },
        },
        OWNER,
      );
      const target = { cluster: 'pve', node: 'pve-b', storage: 'local-zfs' };
      const preflight = await request(server).post('/migrations/preflight').set('Authorization', owner).send({ entityRef: ENTITY, target });
      expect(preflight.body.checks).toContainEqual({ name: 'target address', ok: true, message: expect.stringMatching(/pinned on first contact/) });

      const res = await request(server).post('/migrations').set('Authorization', owner).send({ entityRef: ENTITY, target });
      expect(res.status).toBe(202);
      const [job] = await jobs.listJobs({});
      const params = migrationJobParamsSchema.parse(job.params);
      expect(params.target).toEqual({
        bindAfterProvision: true,
        port: 22,
        username: 'root',
        privateKey: { secretRef: 'guest-access.pve' },
        pathPrefix: '/',
        postgres: readMigrationPlanConfig(mockServices.rootConfig()).postgres,
      });
      expect(params.provision).toMatchObject({ cluster: 'pve', node: 'pve-b', vmid: expect.any(Number) });
      expect(params.source.postgres).toMatchObject({ address: '10.10.1.4' });
      // The record is pointed at the target's own address once it is known.
      expect(params.dns).toEqual({ zone: 'example.org.', name: 'social', type: 'A', ttl: 60 });
      expect(params.peer.identityFile).toMatch(/^\/root\/\.ssh\/fediversity-migration-[0-9a-f]{8}$/);
      expect(() => migrationParamsSchema.parse(job.params)).toThrow();
    } finally {
      real.close();
    }
  });

  it('rejects a malformed target with 400', async () => {
    const { server, instances } = await app();
    await demoInstance(instances);
    const res = await request(server).post('/migrations').set('Authorization', owner).send({ entityRef: ENTITY, target: { cluster: 'demo', node: '-x' } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/target.node: a Proxmox node name; target.storage: Required/);
  });
});
