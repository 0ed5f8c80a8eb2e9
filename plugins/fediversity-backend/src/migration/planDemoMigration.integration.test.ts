import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mockServices } from '@backstage/backend-test-utils';
import { dataClassesSchema } from '@fediversity/plugin-fediversity-common';
import {
  ClusterGuestAccess,
  parsePublicKeyLine,
  PveCluster,
  sha256Fingerprint,
  StaticPveClusters,
} from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { Knex } from 'knex';
import { parse } from 'yaml';
import { InstanceStore } from '../instances/InstanceStore';
import { applyMigrations } from '../jobs/migrations';
import { ScheduleStore } from '../replication/ScheduleStore';
import { applyInstanceMigrations } from '../instances/migrations';
import { mastodonRequest } from '../instances/testFixtures';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { driveToEnd, eventLog, migrationRig, openJobDatabase } from '../testing/migrationEngine';
import { treeHash } from '../testing/migrationHosts';
import { sshHostConnector } from './hosts';
import { instanceStoreRelocator } from './instanceRelocation';
import { MIGRATION_JOB_KIND, migrationJobKind } from './migrationJobKind';
import { readMigrationPlanConfig } from './planConfig';
import { guestKeyRef, MigrationPlanner } from './planner';
import { sshPeerKeyInstaller } from './planPeerKey';
import { sshHostProbe } from './planProbe';
import { proxmoxTargetProvisioner } from './provisionTarget';

/**
 * A demo instance migrated as the portal does it: planned from its record and the catalog's Mastodon definition,
 * run by the real job engine between two demo guests of a real demo host server (rsync between them), the target
 * provisioned on the PVE simulator; afterwards the files are on the target and the record points at it.
 */
jest.setTimeout(240_000);

const ENTITY = 'component:default/mastodon-social-example-org';
const OWNER = 'user:default/owner';
const mastodon = {
  name: 'mastodon',
  dataClasses: dataClassesSchema.parse(
    parse(readFileSync(join(__dirname, '../../../../catalog/apps/mastodon.yaml'), 'utf8')).spec.dataClasses,
  ),
  identityPaths: [],
};

let simulator: PveSimulator;
let cluster: PveCluster;
let closeCluster: () => void;
let dataDir: string;
let guestAccess: ClusterGuestAccess;
let knex: Knex;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 0 });
  ({ cluster, close: closeCluster } = simulatorCluster(simulator, 'demo', true));
  dataDir = await mkdtemp(join(tmpdir(), 'fediversity-demo-migration-'));
  guestAccess = new ClusterGuestAccess({ keyFile: join(dataDir, 'portal_ed25519'), demoDataDir: join(dataDir, 'demo-hosts'), logger: mockServices.logger.mock() });
  knex = await openJobDatabase();
  await applyMigrations(knex);
  await applyInstanceMigrations(knex);
});

afterAll(async () => {
  for (const close of closers) await close();
  await knex?.destroy();
  await guestAccess?.stop();
  closeCluster?.();
  await simulator?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const guestRoot = (vmid: number) => join(dataDir, 'demo-hosts', 'guests', `ct-${vmid}`, 'root');

/** Mastodon's state directory on demo guest 101 (guest 101 of the demo topology runs on pve-a). */
function seedState(): void {
  const state = join(guestRoot(101), 'var/lib/mastodon');
  for (const dir of ['secrets', 'public/system/media/1', 'public/system/media/2']) mkdirSync(join(state, dir), { recursive: true });
  writeFileSync(join(state, 'secrets/secret-key-base'), randomBytes(64).toString('hex'));
  for (let i = 0; i < 40; i++) writeFileSync(join(state, `public/system/media/${(i % 2) + 1}/${i}.bin`), randomBytes(4096 + i));
}

it('moves a demo Mastodon to another node through the job engine; the files arrive, the record and replication follow', async () => {
  const instances = new InstanceStore(knex);
  const schedules = new ScheduleStore(knex);
  const clusters = new StaticPveClusters([cluster]);
  const endpoint = await guestAccess.prepare(cluster, { vmid: 101, hostname: 'social' });
  seedState();
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
    },
    OWNER,
  );
  // Provisioning's file replication: the guest pushes to a replica with a key of its own.
  const replicationKey = '/root/.ssh/fediversity-replication';
  mkdirSync(join(guestRoot(101), 'root/.ssh'), { recursive: true });
  writeFileSync(join(guestRoot(101), replicationKey), 'a private key of the guest\n', { mode: 0o600 });
  const replica = await guestAccess.prepare(cluster, { vmid: 99, hostname: 'replica' });
  const hostSpec = (guest: typeof endpoint) => ({
    host: guest.host,
    port: guest.port,
    username: guest.username,
    hostPublicKey: guest.hostKey!.split(' ').slice(0, 2).join(' '),
  });
  const schedule = await schedules.create(
    {
      entityRef: ENTITY,
      dataClass: 'state',
      strategy: 'rsync',
      params: {
        source: { host: { ...hostSpec(endpoint), peerIdentityFile: replicationKey }, path: '/var/lib/mastodon' },
        target: { host: hostSpec(replica), root: '/var/lib/fediversity-replicas/social/state' },
      },
    },
    OWNER,
    Date.now(),
  );

  const kind = migrationJobKind({
    connect: sshHostConnector(async ref => {
      if (ref !== guestKeyRef('demo')) throw new Error(`unknown secret ${ref}`);
      return (await guestAccess.clientKey(cluster)).privateKey;
    }),
    provisioner: proxmoxTargetProvisioner(clusters, guestAccess),
    relocator: instanceStoreRelocator({ instances, schedules, clusters, logger: mockServices.logger.mock() }),
    retry: { maxAttempts: 2, initialDelayMs: 200, maxDelayMs: 1_000 },
    observeIntervalMs: 200,
  });
  closers.push(() => kind.closeSessions());
  const rig = migrationRig(knex, [kind]);
  const planner = new MigrationPlanner({
    instances,
    schedules,
    jobs: rig.store,
    clusters,
    guestAccess,
    appDefinition: async () => mastodon,
    probe: sshHostProbe(),
    peerKeys: sshPeerKeyInstaller(),
    config: readMigrationPlanConfig(mockServices.rootConfig()),
  });

  const plan = await planner.plan(ENTITY, { cluster: 'demo', node: 'pve-b', storage: 'local-zfs' });
  expect(plan.checks.filter(check => !check.ok)).toEqual([]);
  const { job } = await rig.service.create(
    { kind: MIGRATION_JOB_KIND, entityRef: ENTITY, params: { ...plan.params!, observeSeconds: 1 } },
    OWNER,
  );
  const status = await driveToEnd(rig, job.id);
  const log = await eventLog(rig, job.id);
  if (status !== 'succeeded') throw new Error(`migration ${status}:\n${log}`);

  const vmid = plan.params!.provision!.vmid!;
  expect(treeHash(join(guestRoot(vmid), 'var/lib/mastodon'))).toBe(treeHash(join(guestRoot(101), 'var/lib/mastodon')));
  expect(await readFile(join(guestRoot(vmid), 'var/lib/mastodon/secrets/secret-key-base'), 'utf8')).toHaveLength(128);
  expect(await cluster.client.getGuestStatus({ node: 'pve-b', vmid, type: 'lxc' })).toMatchObject({ status: 'running' });
  // The app was stopped on the source for the final copy and started on the target at the cut-over.
  const units = async (guest: number) =>
    JSON.parse(await readFile(join(dataDir, 'demo-hosts', 'guests', `ct-${guest}`, 'state', 'state.json'), 'utf8')).units;
  expect((await units(101))['mastodon.target']).toBe('inactive');
  expect((await units(vmid))['mastodon.target']).toBe('active');

  const moved = await instances.get(instance.id);
  expect(moved).toMatchObject({
    cluster: 'demo',
    node: 'pve-b',
    vmid,
    storage: 'local-zfs',
    guestRef: `resource:default/demo-ct-${vmid}`,
    ssh: { host: endpoint.host, port: endpoint.port, username: `ct-${vmid}`, trust: 'demo' },
    // The guest it left keeps its vzdump archives: the backup listing still finds them there.
    formerGuests: [{ cluster: 'demo', node: 'pve-a', vmid: 101, storage: 'local-zfs', movedAt: expect.any(String) }],
  });
  // Replication now reads from the new guest, which got the key with the identity files (mode kept).
  const followed = await schedules.get(schedule.id);
  expect((followed.params.source as { host: object }).host).toMatchObject({ username: `ct-${vmid}`, peerIdentityFile: replicationKey });
  expect(await readFile(join(guestRoot(vmid), replicationKey), 'utf8')).toBe('a private key of the guest\n');
  expect(statSync(join(guestRoot(vmid), replicationKey)).mode & 0o777).toBe(0o600);
  expect(log).toContain('The instance record points at the target');
  expect(log).toContain('Target verified equal to the source');
  // The key pair made for the copy is revoked once the target serves; the guest's own keys stay.
  const peer = plan.params!.peer;
  expect(peer).toEqual({ identityFile: expect.stringMatching(/^\/root\/\.ssh\/fediversity-migration-[0-9a-f]{8}$/), madeForMigration: true });
  expect(log).toContain('Revoked the key pair made for the copy');
  expect(existsSync(join(guestRoot(101), peer.identityFile))).toBe(false);
  expect(await readFile(join(guestRoot(vmid), 'root/.ssh/authorized_keys'), 'utf8')).not.toContain(basename(peer.identityFile));
  expect(existsSync(join(guestRoot(101), replicationKey))).toBe(true);
});
