import { mockServices } from '@backstage/backend-test-utils';
import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../jobs/clock';
import { JobEngine } from '../jobs/JobEngine';
import { JobService } from '../jobs/JobService';
import { JobStore } from '../jobs/JobStore';
import { Redactor } from '../jobs/redaction';
import { JobKindRegistry } from '../jobs/registry';
import { JobTestDatabases } from '../jobs/__testUtils__/databases';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { backupCreateJobKind } from './backupJobKind';
import { DrillStore } from './DrillStore';
import { drillJobKind, restoreJobKind } from './jobKinds';
import { ManifestStore } from './ManifestStore';
import { DirectoryGuests } from './testing/directoryGuests';

jest.setTimeout(120_000);

const ENTITY = 'component:default/hedgedoc-docs-example-org';
const GUEST = { cluster: 'demo', node: 'pve-c', vmid: 103 };
const databases = new JobTestDatabases();
let simulator: PveSimulator;
let closeCluster: () => void;
let clusters: StaticPveClusters;
let dir: string;
let health: Server;
let healthStatus = 200;

beforeAll(async () => {
  simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 50 });
  const { cluster, close } = simulatorCluster(simulator, 'demo');
  closeCluster = close;
  clusters = new StaticPveClusters([cluster]);
  dir = await mkdtemp(join(tmpdir(), 'fediversity-restore-verify-'));
  // The app's health endpoint, on the address the guest's config names (loopback here).
  health = createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? healthStatus : 404;
    res.end();
  });
  await new Promise<void>(resolve => health.listen(0, '127.0.0.1', resolve));
  await clusters.get('demo').client.updateGuestConfig(
    { node: GUEST.node, vmid: GUEST.vmid, type: 'lxc' },
    { net0: 'name=eth0,bridge=vmbr0,ip=127.0.0.1/8' } as any,
  );
});
afterAll(async () => {
  closeCluster?.();
  await simulator?.close();
  await databases.stop();
  await new Promise(resolve => health?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function rig(options: { restoreBridge?: string } = { restoreBridge: 'vmbr9' }) {
  const knex = await databases.init('SQLITE_3');
  const store = new JobStore(knex);
  const drills = new DrillStore(knex);
  const manifests = new ManifestStore(knex);
  const guests = new DirectoryGuests(dir);
  const verification = { manifests, guestFiles: guests.connector, restoreBridge: options.restoreBridge };
  const kinds = new JobKindRegistry([
    backupCreateJobKind(clusters, manifests, guests.connector),
    restoreJobKind(clusters, verification),
    drillJobKind(clusters, drills, verification),
  ]);
  const engine = new JobEngine({ store, kinds, logger: mockServices.logger.mock(), owner: 'test', concurrency: 1 });
  const service = new JobService({ store, kinds, clock: systemClock, redactor: new Redactor() });
  const run = async (kind: string, params: Record<string, unknown>) => {
    const id = (await service.create({ kind, entityRef: ENTITY, params }, 'user:default/alice')).job.id;
    await engine.runUntilIdle();
    return { id, job: await service.get(id), steps: await store.getSteps(id) };
  };
  return { drills, manifests, guests, run };
}

const port = () => (health.address() as AddressInfo).port;

/** The app's data in the source guest, a backup of it with its manifest, and the archive's files. */
async function backedUp(env: Awaited<ReturnType<typeof rig>>) {
  const appDir = join(env.guests.root(GUEST.vmid), 'var/lib/hedgedoc');
  await mkdir(join(appDir, 'uploads'), { recursive: true });
  await writeFile(join(appDir, 'uploads', 'a.png'), 'image bytes');
  await writeFile(join(appDir, 'uploads', 'name with\nnewline'), 'odd name');
  await writeFile(join(appDir, 'db.sqlite'), 'database pages');
  const quiesced = join(dir, 'quiesced');
  const backup = await env.run('backup.create', {
    guest: GUEST,
    storage: 'local',
    directories: ['/var/lib/hedgedoc'],
    quiesce: [['touch', quiesced]],
    unquiesce: [['rm', '-f', quiesced]],
  });
  expect(backup.job.status).toBe('succeeded');
  expect(existsSync(quiesced)).toBe(false);
  const { volid } = backup.steps[0].output as { volid: string };
  await env.guests.archive(volid, GUEST.vmid);
  return { volid };
}

describe('restores verified by checksums and the app health endpoint', () => {
  it('records a manifest with the backup; a drill of an intact backup passes every check', async () => {
    const env = await rig();
    const { volid } = await backedUp(env);
    const manifest = await env.manifests.get(volid);
    expect(Object.keys(manifest!.files).sort()).toEqual([
      'var/lib/hedgedoc/db.sqlite',
      'var/lib/hedgedoc/uploads/a.png',
      'var/lib/hedgedoc/uploads/name with\nnewline',
    ]);

    env.guests.restoreNextFrom(volid);
    const drill = await env.run('backup.drill', {
      guest: GUEST,
      storage: 'local-zfs',
      health: { port: port(), path: '/healthz', timeoutSeconds: 5 },
    });
    expect(drill.job.status).toBe('succeeded');
    const [record] = await env.drills.list({ entityRefs: [ENTITY] });
    // The scratch guest carried the source's address: it was started on the restore bridge, not the live one.
    expect(drill.steps.find(s => s.name === 'isolate')!.output).toMatchObject({
      mode: 'bridge',
      interfaces: { net0: expect.stringMatching(/(^|,)bridge=vmbr9(,|$)/) },
    });
    expect(record).toMatchObject({
      result: 'passed',
      backupId: volid,
      detail: {
        passed: true,
        failures: [],
        health: { ok: true, status: 200, url: `http://127.0.0.1:${port()}/healthz` },
        checksums: { files: 3, matched: 3, differing: [], missing: [], extra: [] },
      },
    });
  });

  it('fails a drill, and records why, when a restored file differs from the backup', async () => {
    const env = await rig();
    const { volid } = await backedUp(env);
    // Same size, one byte changed: only a checksum sees it.
    const damaged = join(env.guests.archiveDir(volid), 'var/lib/hedgedoc/db.sqlite');
    const bytes = await readFile(damaged);
    bytes[0] ^= 1;
    await writeFile(damaged, bytes);
    await rm(join(env.guests.archiveDir(volid), 'var/lib/hedgedoc/uploads/a.png'));

    env.guests.restoreNextFrom(volid);
    const drill = await env.run('backup.drill', { guest: GUEST, storage: 'local-zfs' });
    expect(drill.job.status).toBe('failed');
    expect(JSON.stringify(drill.job.error)).toMatch(/differ: var\/lib\/hedgedoc\/db\.sqlite/);
    const [record] = await env.drills.list({ entityRefs: [ENTITY] });
    expect(record).toMatchObject({
      result: 'failed',
      detail: {
        passed: false,
        checksums: { files: 3, matched: 1, differing: ['var/lib/hedgedoc/db.sqlite'], missing: ['var/lib/hedgedoc/uploads/a.png'] },
      },
    });
    // The scratch guest is removed even though the drill failed.
    expect(drill.steps.find(s => s.name === 'remove')).toMatchObject({ status: 'succeeded' });
  });

  it('fails a restore whose app does not answer healthy', async () => {
    const env = await rig();
    const { volid } = await backedUp(env);
    healthStatus = 503;
    try {
      env.guests.restoreNextFrom(volid);
      const restore = await env.run('backup.restore', {
        guest: GUEST,
        volid,
        storage: 'local-zfs',
        health: { port: port(), path: '/healthz', timeoutSeconds: 2 },
      });
      expect(restore.job.status).toBe('failed');
      expect(JSON.stringify(restore.job.error)).toMatch(/healthz answered 503/);
      const verify = restore.steps.find(s => s.name === 'verify');
      expect(verify?.status).toBe('failed');
    } finally {
      healthStatus = 200;
    }
  });

  it('without a restore bridge starts the copy disconnected and reports the health check as skipped, not passed', async () => {
    const env = await rig({});
    const { volid } = await backedUp(env);
    env.guests.restoreNextFrom(volid);
    const drill = await env.run('backup.drill', { guest: GUEST, storage: 'local-zfs', health: { port: port(), path: '/healthz', timeoutSeconds: 2 } });
    expect(drill.job.status).toBe('succeeded');
    expect(drill.steps.find(s => s.name === 'isolate')!.output).toMatchObject({
      mode: 'link-down',
      interfaces: { net0: expect.stringMatching(/(^|,)link_down=1(,|$)/) },
    });
    const [record] = await env.drills.list({ entityRefs: [ENTITY] });
    expect(record.detail).toMatchObject({ health: { skipped: expect.stringMatching(/disconnected/) }, checksums: { matched: 3 } });
  });
});
