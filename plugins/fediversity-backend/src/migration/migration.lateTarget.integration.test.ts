import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Knex } from 'knex';
import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { FILES_PATH, MigrationHosts, startMigrationHosts, tableHashes, tableHashesOfStopped, treeHash } from '../testing/migrationHosts';
import { AppWriter, lostWrites, MemoryDnsProvider, DNS_ZONE, portalConnector, seedSourceData } from '../testing/migrationFixtures';
import { createTargetGuest, existingGuestProvisioner, LATE_TARGET_KEY, lateTargetParams } from '../testing/lateTarget';
import { createMigration, driveToEnd, eventLog, migrationRig, openJobDatabase } from '../testing/migrationEngine';
import { migrationJobKind } from './migrationJobKind';
import { proxmoxTargetBinder } from './targetBinding';

/**
 * A migration to a guest the migration makes on a real cluster: the job starts knowing neither the target's
 * address nor its host key. The provision step finds the address in Proxmox (the simulator, reporting the
 * target host's address for the guest), pins the key the target's sshd presents first, gives the source a
 * copy key the target accepts, runs the target's checks, and the migration goes on with that endpoint.
 */
jest.setTimeout(180_000);

let hosts: MigrationHosts;
let knex: Knex;
let simulator: PveSimulator;
let closeCluster: () => void;
const closeSessions: Array<() => Promise<void>> = [];

beforeAll(async () => {
  hosts = await startMigrationHosts({ fsync: false });
  knex = await openJobDatabase();
  simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 0 });
});

afterAll(async () => {
  for (const close of closeSessions) await close();
  closeCluster?.();
  await simulator?.close();
  await knex?.destroy();
  await hosts?.stop();
});

it('binds a new target after provisioning and migrates to it with zero loss', async () => {
  seedSourceData(hosts, { files: 60, fileBytes: 8_192, rows: 5_000 });
  const made = simulatorCluster(simulator, 'pve', false);
  closeCluster = made.close;
  const { client } = made.cluster;
  const guest = await createTargetGuest(client, hosts);
  const { node, vmid } = guest;
  let provisioned = 0;
  const provisioner = existingGuestProvisioner(client, guest, () => provisioned++);
  const dns = new MemoryDnsProvider();
  const kind = migrationJobKind({
    connect: portalConnector(hosts),
    dns: zone => (zone === DNS_ZONE ? dns : undefined),
    provisioner,
    binder: proxmoxTargetBinder(new StaticPveClusters([made.cluster]), { pollInitialMs: 50, timeoutMs: 30_000 }),
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2_000 },
    observeIntervalMs: 200,
  });
  const rig = migrationRig(knex, [kind]);
  closeSessions.push(() => kind.closeSessions());

  const params = lateTargetParams(hosts, guest);
  const identityFile = join(hosts.source.root, LATE_TARGET_KEY);
  const keysFile = join(hosts.target.root, '.ssh/authorized_keys');
  const authorizedKeys = () => (existsSync(keysFile) ? readFileSync(keysFile, 'utf8') : '');
  const portalKeys = authorizedKeys();

  const writer = new AppWriter(hosts);
  await writer.start();
  const id = await createMigration(rig, params);
  const status = await driveToEnd(rig, id);
  await writer.stop();
  const log = await eventLog(rig, id);
  if (process.env.MIGRATION_TEST_LOG) require('node:fs').writeFileSync(process.env.MIGRATION_TEST_LOG, log);
  if (status !== 'succeeded') throw new Error(`migration ${status}:\n${log}`);

  // Bound once, to the key the target presented: the one its sshd has.
  expect(provisioned).toBe(1);
  expect(log).toContain(`presented host key ${hosts.target.hostKeyFingerprint}`);
  const steps = await rig.store.getSteps(id);
  const output = (name: string) => steps.find(step => step.name === name)?.output as Record<string, any>;
  expect(output('preflight')).toMatchObject({ deferred: true });
  expect(output('provision-target')).toMatchObject({
    guest: { vmid, node },
    target: { address: hosts.target.address, host: hosts.target.address, hostKeyFingerprint: hosts.target.hostKeyFingerprint },
    preflight: { facts: { 'postgres:database': expect.anything(), 'files:media': expect.anything() } },
  });
  // The source's copy key was made, used, and revoked once the target served: its private half is gone from
  // the source, its public half from the target, whose other keys (the portal's) are as they were.
  expect(log).toContain('The source may copy to the target with a key made for this migration');
  expect(log).toContain('Revoked the key pair made for the copy');
  expect(existsSync(identityFile)).toBe(false);
  expect(authorizedKeys()).toBe(portalKeys);
  expect(log).not.toContain('PRIVATE KEY');
  // DNS points at the bound address.
  expect((await dns.listRecords('example.test', 'app')).map(record => record.values)).toEqual([[hosts.target.address]]);

  expect(writer.errors).toEqual([]);
  expect(treeHash(join(hosts.target.root, FILES_PATH))).toBe(treeHash(join(hosts.source.root, FILES_PATH)));
  expect(lostWrites(hosts, hosts.target, writer)).toEqual([]);
  expect(tableHashesOfStopped(hosts, hosts.source)).toEqual(tableHashes(hosts, hosts.target));
});
