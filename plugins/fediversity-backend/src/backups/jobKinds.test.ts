import { mockServices } from '@backstage/backend-test-utils';
import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { systemClock } from '../jobs/clock';
import { JobEngine } from '../jobs/JobEngine';
import { JobService } from '../jobs/JobService';
import { JobStore } from '../jobs/JobStore';
import { Redactor } from '../jobs/redaction';
import { JobKindRegistry } from '../jobs/registry';
import { JobTestDatabases } from '../jobs/__testUtils__/databases';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { listBackups } from './BackupLister';
import { DrillStore } from './DrillStore';
import { drillJobKind, restoreInPlaceJobKind, restoreJobKind } from './jobKinds';

jest.setTimeout(120_000);

const ENTITY = 'component:default/mastodon-social-example-org';
const GUEST = { cluster: 'demo', node: 'pve-c', vmid: 103 };
const databases = new JobTestDatabases();
let simulator: PveSimulator;
let closeCluster: () => void;
let clusters: StaticPveClusters;

beforeAll(async () => {
  simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 50 });
  const { cluster, close } = simulatorCluster(simulator, 'demo');
  closeCluster = close;
  clusters = new StaticPveClusters([cluster]);
});
afterAll(async () => {
  closeCluster?.();
  await simulator?.close();
  await databases.stop();
});

async function rig() {
  const knex = await databases.init('SQLITE_3');
  const store = new JobStore(knex);
  const drills = new DrillStore(knex);
  const kinds = new JobKindRegistry([restoreJobKind(clusters), restoreInPlaceJobKind(clusters), drillJobKind(clusters, drills)]);
  const engine = new JobEngine({ store, kinds, logger: mockServices.logger.mock(), owner: 'test', concurrency: 1 });
  const service = new JobService({ store, kinds, clock: systemClock, redactor: new Redactor() });
  const create = async (kind: string, params: Record<string, unknown>) =>
    (await service.create({ kind, entityRef: ENTITY, params }, 'user:default/alice')).job.id;
  return { store, drills, engine, service, create };
}

async function backup(): Promise<string> {
  const { client } = clusters.get('demo');
  await client.waitForTask(await client.vzdump(GUEST.node, { vmids: [GUEST.vmid], storage: 'local', mode: 'snapshot' }));
  const backups = await listBackups(clusters, GUEST);
  const newest = backups.find(b => b.type === 'vzdump');
  expect(newest).toMatchObject({ restorable: true, takenAt: expect.any(Number) });
  return newest!.id;
}

async function guestIds() {
  return (await clusters.get('demo').client.getClusterResources('vm')).map(g => g.vmid).sort();
}

describe('backup jobs against the PVE simulator', () => {
  it('runs a restore drill end to end: newest backup → scratch guest → verified → recorded → removed', async () => {
    const { drills, engine, service, create } = await rig();
    const volid = await backup();
    const before = await guestIds();

    const id = await create('backup.drill', { guest: GUEST, storage: 'local-zfs' });
    await engine.runUntilIdle();
    const job = await service.get(id);
    if (job.status !== 'succeeded') console.log(JSON.stringify(job.steps, null, 1), JSON.stringify(job.error));
    expect(job.status).toBe('succeeded');

    const [drill] = await drills.list({ entityRefs: [ENTITY] });
    expect(drill).toMatchObject({ jobId: id, backupId: volid, result: 'passed', recoveryTimeMs: expect.any(Number) });
    expect(drill.recoveryTimeMs).toBeGreaterThan(0);
    expect(drill.recoveryPointAt).toBeLessThanOrEqual(Date.now());
    expect(drill.detail).toMatchObject({ status: 'running' });
    expect(await guestIds()).toEqual(before);
  });

  it('restores to a fresh guest, and in place only after a confirmation', async () => {
    const { store, engine, service, create } = await rig();
    const volid = await backup();
    const { client } = clusters.get('demo');

    const fresh = await create('backup.restore', { guest: GUEST, volid, storage: 'local-zfs' });
    await engine.runUntilIdle();
    const freshJob = await service.get(fresh);
    expect(freshJob.status).toBe('succeeded');
    const restoredVmid = ((await store.getSteps(fresh)).find(s => s.name === 'restore')!.output as { vmid: number }).vmid;
    expect(restoredVmid).not.toBe(GUEST.vmid);
    expect((await client.getGuestStatus({ node: GUEST.node, vmid: restoredVmid, type: 'lxc' })).status).toBe('running');

    const inPlace = await create('backup.restore-in-place', { guest: GUEST, volid, storage: 'local-zfs' });
    await engine.runUntilIdle();
    expect((await service.get(inPlace)).status).toBe('awaiting_approval');
    await service.approve(inPlace, 'user:default/alice', { comment: 'restore yesterday' });
    await engine.runUntilIdle();
    expect((await service.get(inPlace)).status).toBe('succeeded');

    const foreign = await create('backup.restore', { guest: { ...GUEST, vmid: 104 }, volid, storage: 'local-zfs' });
    await engine.runUntilIdle();
    expect((await service.get(foreign)).status).toBe('failed');
    // Another guest's number elsewhere in the volume id (here the storage's name) does not make it that guest's archive.
    const disguised = await create('backup.restore', { guest: { ...GUEST, vmid: 104 }, volid: volid.replace(/^[^:]+/, 'nas-104-a'), storage: 'local-zfs' });
    await engine.runUntilIdle();
    expect((await service.get(disguised)).status).toBe('failed');
    expect(JSON.stringify((await service.get(disguised)).error)).toMatch(/is not a backup of guest 104/);
  });

  it('restores the archive of a guest destroyed since (a former guest after a migration) as a new guest', async () => {
    const { store, engine, service, create } = await rig();
    const gone = { cluster: 'demo', node: 'pve-b', vmid: 102 };
    const { client } = clusters.get('demo');
    await client.waitForTask(await client.vzdump(gone.node, { vmids: [gone.vmid], storage: 'local', mode: 'snapshot' }));
    const [archive] = (await listBackups(clusters, gone)).filter(b => b.type === 'vzdump');
    await client.waitForTask(await client.deleteGuest({ node: gone.node, vmid: gone.vmid, type: 'lxc' }, { force: true }));
    expect(await guestIds()).not.toContain(gone.vmid);

    const id = await create('backup.restore', { guest: gone, volid: archive.id, storage: 'local-zfs' });
    await engine.runUntilIdle();
    expect((await service.get(id)).status).toBe('succeeded');
    const restoredVmid = ((await store.getSteps(id)).find(s => s.name === 'restore')!.output as { vmid: number }).vmid;
    expect((await client.getGuestStatus({ node: gone.node, vmid: restoredVmid, type: 'lxc' })).status).toBe('running');
  });
});
