import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Knex } from 'knex';
import { generateSshKeyPair, PveClient, StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { migrationJobKind, MigrationDeps, MigrationJobKind } from './migrationJobKind';
import { sshHostConnector } from './hosts';
import { proxmoxTargetProvisioner } from './provisionTarget';
import { slotName } from './postgres';
import { jobDirectory } from './rsync';
import { FILES_PATH, MigrationHosts, startMigrationHosts, tableHashes, treeHash } from '../testing/migrationHosts';
import { AppWriter, MemoryDnsProvider, migrationParams, seedSourceData } from '../testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, MigrationRig, OPERATOR, openJobDatabase } from '../testing/migrationEngine';

/**
 * Faults, each on fresh hosts: a dropped SSH connection mid-transfer, a full target disk, an unreachable
 * source, an approval that never comes, Proxmox answering 500. Each ends in a clear state (completed, or
 * failed / cancelled with the rollback done) and the source serving: database up, app not quiesced.
 */
jest.setTimeout(240_000);

// Mounting a tmpfs needs root.
const itAsRoot = process.getuid?.() === 0 ? it : it.skip;
let hosts: MigrationHosts;
let knex: Knex;
let kind: MigrationJobKind;
let dns: MemoryDnsProvider;
const mounts: string[] = [];

beforeEach(async () => {
  hosts = await startMigrationHosts({ fsync: false });
  knex = await openJobDatabase();
  dns = new MemoryDnsProvider();
});

afterEach(async () => {
  await kind?.closeSessions();
  await knex?.destroy();
  for (const mount of mounts.splice(0)) execFileSync('umount', ['-l', mount]);
  await hosts?.stop();
});

function rigWith(extra: Partial<MigrationDeps> = {}): MigrationRig {
  kind = migrationJobKind({
    connect: sshHostConnector(async () => hosts.portalPrivateKey),
    dns: () => dns,
    retry: { maxAttempts: 3, initialDelayMs: 300, maxDelayMs: 1_000 },
    observeIntervalMs: 200,
    ...extra,
  });
  return migrationRig(knex, [kind]);
}

async function stepStatus(rig: MigrationRig, id: string, name: string) {
  return (await rig.store.getSteps(id)).find(step => step.name === name)?.status;
}

/**
 * The source serves: its database accepts writes, the app is not quiesced; unless the rollback could not
 * reach it, no slot and no directory of the job are left on it.
 */
function expectSourceServing(jobId: string, options: { rollbackReachedSource?: boolean } = {}) {
  expect(hosts.pgStatus(hosts.source)).toBe('running');
  expect(hosts.psql(hosts.source, 'SELECT pg_is_in_recovery()')).toBe('f');
  hosts.psql(hosts.source, `INSERT INTO items (name, n) VALUES ('after-fault', 1)`);
  expect(existsSync(join(hosts.source.root, 'run/app/quiesced'))).toBe(false);
  if (options.rollbackReachedSource ?? true) {
    expect(hosts.psql(hosts.source, `SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slotName(jobId)}'`)).toBe('0');
    expect(existsSync(jobDirectory(jobId))).toBe(false);
  }
}

it('resumes after the SSH connection drops mid-transfer and completes with equal data', async () => {
  seedSourceData(hosts, { files: 40, fileBytes: 1_000_000, rows: 20_000 });
  const rig = rigWith();
  const id = await createMigration(rig, migrationParams(hosts));
  let dropped = 0;
  const status = await driveToEnd(rig, id, {
    onPoll: async () => {
      if (dropped || (await stepStatus(rig, id, 'initial-sync')) !== 'running') return;
      const copied = join(hosts.target.root, FILES_PATH);
      if (existsSync(copied) && execFileSync('du', ['-sb', copied]).toString().split('\t')[0] > '4000000') {
        dropped = hosts.target.dropSessions() + hosts.source.dropSessions();
      }
    },
  });
  const log = await eventLog(rig, id);
  expect(dropped).toBeGreaterThan(0);
  expect(log).toMatch(/initial-sync Step failed \(attempt 1\/3\)/);
  expect({ status, log }).toMatchObject({ status: 'succeeded' });
  expect(treeHash(join(hosts.target.root, FILES_PATH))).toBe(treeHash(join(hosts.source.root, FILES_PATH)));
  const targetHashes = tableHashes(hosts, hosts.target);
  hosts.pgStart(hosts.source);
  expect(tableHashes(hosts, hosts.source)).toEqual(targetHashes);
});

itAsRoot('stops at preflight when the target disk is too small, and rolls back when it fills up later', async () => {
  seedSourceData(hosts, { files: 30, fileBytes: 256_000, rows: 1_000 });
  const targetFiles = join(hosts.target.root, FILES_PATH);
  mkdirSync(targetFiles, { recursive: true });
  // A 4 MiB tmpfs for 7.7 MB of files: preflight refuses.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', targetFiles]);
  mounts.push(targetFiles);
  let rig = rigWith();
  let id = await createMigration(rig, migrationParams(hosts));
  let status = await driveToEnd(rig, id);
  let log = await eventLog(rig, id);
  expect({ status, log }).toMatchObject({ status: 'failed' });
  expect(log).toContain('Target disk too small');
  expectSourceServing(id);

  // 10 MiB passes the check (≥ 1.2 × 7.7 MB); then the source grows by 8 MB before the copy: ENOSPC.
  execFileSync('mount', ['-o', 'remount,size=10m', targetFiles]);
  await kind.closeSessions();
  rig = rigWith();
  id = await createMigration(rig, migrationParams(hosts));
  let grown = false;
  status = await driveToEnd(rig, id, {
    onPoll: async () => {
      if (grown || (await stepStatus(rig, id, 'preflight')) !== 'succeeded') return;
      for (let i = 0; i < 8; i++) writeFileSync(join(hosts.source.root, FILES_PATH, `grown-${i}.bin`), randomBytes(1_000_000));
      grown = true;
    },
  });
  log = await eventLog(rig, id);
  expect({ status, log }).toMatchObject({ status: 'failed' });
  expect(log).toMatch(/Target disk full: .*No space left on device/);
  expect(log).toContain('initial-sync Compensated');
  expect(hosts.pgStatus(hosts.target)).not.toBe('running');
  expectSourceServing(id);
});

it('stops at preflight, naming pg_hba.conf, when the source refuses the target’s replication connection', async () => {
  seedSourceData(hosts, { files: 5, fileBytes: 1_000, rows: 10 });
  const hba = join(hosts.source.pg.dataDir, 'pg_hba.conf');
  writeFileSync(hba, `host replication all 0.0.0.0/0 reject\n${readFileSync(hba, 'utf8')}`);
  hosts.psql(hosts.source, 'SELECT pg_reload_conf()');
  const rig = rigWith();
  const id = await createMigration(rig, migrationParams(hosts));
  const status = await driveToEnd(rig, id);
  const log = await eventLog(rig, id);
  expect({ status, log }).toMatchObject({ status: 'failed' });
  expect(log).toMatch(/preflight Step failed \(attempt 1\/3\): The target cannot open a replication connection to the source database .*pg_hba\.conf.*: psql: error: .*pg_hba\.conf rejects replication connection/);
  expect(await stepStatus(rig, id, 'initial-sync')).not.toBe('succeeded');
  expectSourceServing(id);
});

it('rolls back with the source serving when the source becomes unreachable before the quiesce', async () => {
  seedSourceData(hosts, { files: 20, fileBytes: 64_000, rows: 1_000 });
  const rig = rigWith();
  const id = await createMigration(rig, migrationParams(hosts));
  await driveToEnd(rig, id, { approve: false, stopAt: status => status === 'awaiting_approval' });
  await kind.closeSessions();
  await hosts.source.stopSshd();
  await rig.service.approve(id, OPERATOR, {});
  const status = await driveToEnd(rig, id);
  const log = await eventLog(rig, id);
  expect({ status, log }).toMatchObject({ status: 'failed' });
  expect(log).toMatch(/quiesce Step failed \(attempt 3\/3\): The source host is unreachable/);
  expect(log).toContain('Could not drop the replication slot on the source');
  expect(hosts.pgStatus(hosts.target)).not.toBe('running');
  // The source host itself never stopped serving; its slot and the job's directory (the target's public
  // key) are left for an operator, both reported.
  expect(log).toContain(`Could not remove ${jobDirectory(id)} on the source`);
  await hosts.source.startSshd();
  expectSourceServing(id, { rollbackReachedSource: false });
  expect(existsSync(jobDirectory(id))).toBe(true);
  rmSync(jobDirectory(id), { recursive: true, force: true });
});

it('waits for an approval that never comes with the source serving, and rolls back when cancelled', async () => {
  seedSourceData(hosts, { files: 20, fileBytes: 64_000, rows: 1_000 });
  const writer = new AppWriter(hosts);
  await writer.start();
  const rig = rigWith();
  const id = await createMigration(rig, migrationParams(hosts));
  await driveToEnd(rig, id, { approve: false, stopAt: status => status === 'awaiting_approval' });
  const before = writer.acknowledged;
  await new Promise(resolve => setTimeout(resolve, 3_000));
  expect((await rig.store.getJob(id))?.status).toBe('awaiting_approval');
  expect(writer.acknowledged).toBeGreaterThan(before);
  // The standby keeps streaming while the job waits.
  expect(hosts.psql(hosts.target, 'SELECT pg_is_in_recovery()')).toBe('t');
  await writer.stop();
  await rig.service.cancel(id, OPERATOR, 'nobody approved');
  const status = await driveToEnd(rig, id);
  const log = await eventLog(rig, id);
  expect({ status, log }).toMatchObject({ status: 'cancelled' });
  expect(hosts.pgStatus(hosts.target)).not.toBe('running');
  expectSourceServing(id);
});

it('rolls back when verification finds a difference: source restarted and unquiesced, promoted copy discarded, a new migration then completes', async () => {
  seedSourceData(hosts, { files: 20, fileBytes: 64_000, rows: 1_000 });
  const rig = rigWith();
  const id = await createMigration(rig, migrationParams(hosts));
  await driveToEnd(rig, id, { approve: false, stopAt: status => status === 'awaiting_approval' });
  // Same size, same (nanosecond) mtime, other bytes: only a content comparison can tell.
  const victim = join(FILES_PATH, 'd00', 'f0.bin');
  writeFileSync(join(hosts.target.root, victim), randomBytes(64_000));
  execFileSync('touch', ['-r', join(hosts.source.root, victim), join(hosts.target.root, victim)]);
  await rig.service.approve(id, OPERATOR, {});
  const status = await driveToEnd(rig, id);
  const log = await eventLog(rig, id);
  expect({ status, log }).toMatchObject({ status: 'failed' });
  expect(log).toMatch(/verify Step failed \(attempt 1\/3\): Verification failed: \/srv\/app\/files differs in 1 item\(s\), e\.g\. content d00\/f0\.bin/);
  expect(log).toContain('Restarting the source database');
  expect(log).toContain('Unquiescing on the source');
  // The final sync had the target promoted: no client reached it, so the rollback discards it.
  expect(log).toContain('Discarded the promoted copy on the target (no client reached it)');
  expect(existsSync(join(hosts.target.pg.dataDir, 'PG_VERSION'))).toBe(false);
  expect(await dns.listRecords('example.test', 'app')).toEqual([]);
  expect(hosts.pgStatus(hosts.target)).not.toBe('running');
  expectSourceServing(id);

  // The rolled-back target is no obstacle: the next migration copies afresh and completes.
  execFileSync('touch', [join(hosts.target.root, victim)]);
  const sourceTables = tableHashes(hosts, hosts.source);
  const again = await createMigration(rig, migrationParams(hosts));
  expect(await driveToEnd(rig, again)).toBe('succeeded');
  expect(treeHash(join(hosts.target.root, FILES_PATH))).toBe(treeHash(join(hosts.source.root, FILES_PATH)));
  expect(tableHashes(hosts, hosts.target)).toEqual(sourceTables);
});

describe('with Proxmox provisioning', () => {
  let simulator: PveSimulator;

  beforeAll(async () => {
    simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 50 });
  });

  afterAll(async () => {
    await simulator?.close();
  });

  it('fails cleanly when Proxmox answers 500, before anything touched the source', async () => {
    seedSourceData(hosts, { files: 5, fileBytes: 10_000, rows: 100 });
    const separator = simulator.token.lastIndexOf('=');
    const client = await PveClient.connect({
      url: simulator.url,
      tokenId: simulator.token.slice(0, separator),
      tokenSecret: simulator.token.slice(separator + 1),
      fingerprint: simulator.fingerprint,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      taskWait: { initialIntervalMs: 20, maxIntervalMs: 100, timeoutMs: 20_000 },
    });
    simulator.faults.addRequestFault({ method: 'POST', path: '/nodes/*/lxc', status: 500, count: 1000, message: 'internal error' });
    const rig = rigWith({
      provisioner: proxmoxTargetProvisioner(new StaticPveClusters([{ name: 'demo', client, demo: true }]), { clientKey: async () => generateSshKeyPair('portal') }),
    });
    const id = await createMigration(
      rig,
      migrationParams(hosts, {
        provision: {
          cluster: 'demo',
          node: 'pve-a',
          ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
          storage: 'local-zfs',
          diskGb: 8,
        },
      }),
    );
    const status = await driveToEnd(rig, id);
    const log = await eventLog(rig, id);
    expect({ status, log }).toMatchObject({ status: 'failed' });
    expect(log).toMatch(/provision-target Step failed \(attempt 3\/3\): .*500/);
    expect(await stepStatus(rig, id, 'initial-sync')).toBe('pending');
    expectSourceServing(id);
  });
});
