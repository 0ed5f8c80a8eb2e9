import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Knex } from 'knex';
import { migrationJobKind } from './migrationJobKind';
import { FILES_PATH, MigrationHosts, startMigrationHosts, tableHashes, tableHashesOfStopped, treeHash } from '../testing/migrationHosts';
import { AppWriter, lostWrites, MemoryDnsProvider, migrationParams, DNS_ZONE, portalConnector, seedSourceData } from '../testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, openJobDatabase } from '../testing/migrationEngine';
import { dirtyFiles } from '../testing/dirtyPages';

/**
 * End to end on two real hosts (sshd each, own data root) and a real PostgreSQL primary → standby:
 * a live writer works on the source throughout; afterwards the trees and the ordered table hashes are
 * equal and every acknowledged write is on the target.
 */
jest.setTimeout(180_000);

let hosts: MigrationHosts;
let knex: Knex;

beforeAll(async () => {
  hosts = await startMigrationHosts({ fsync: false });
  knex = await openJobDatabase();
});

const closeSessions: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const close of closeSessions) await close();
  await knex?.destroy();
  await hosts?.stop();
});

it('migrates files, identity and database with zero loss while the app writes', async () => {
  seedSourceData(hosts, { files: 200, fileBytes: 16_384, rows: 20_000 });
  const dns = new MemoryDnsProvider();
  const kind = migrationJobKind({
    connect: portalConnector(hosts),
    dns: zone => (zone === DNS_ZONE ? dns : undefined),
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2_000 },
    observeIntervalMs: 200,
  });
  const rig = migrationRig(knex, [kind]);
  closeSessions.push(() => kind.closeSessions());
  const writer = new AppWriter(hosts);
  await writer.start();
  const id = await createMigration(rig, migrationParams(hosts));
  let sawApprovalWithWriterRunning = false;
  const status = await driveToEnd(rig, id, {
    onPoll: async () => {
      const job = await rig.store.getJob(id);
      if (job?.status === 'awaiting_approval' && writer.acknowledged > 0) sawApprovalWithWriterRunning = true;
    },
  });
  await writer.stop();
  const log = await eventLog(rig, id);
  if (process.env.MIGRATION_TEST_LOG) require('node:fs').writeFileSync(process.env.MIGRATION_TEST_LOG, log);
  if (status !== 'succeeded') throw new Error(`migration ${status}:\n${log}`);
  expect(sawApprovalWithWriterRunning).toBe(true);
  expect(writer.errors).toEqual([]);
  expect(writer.rows.size).toBeGreaterThan(10);

  // The source is kept, stopped; compare it (started read-only for the check) with the promoted target.
  expect(hosts.pgStatus(hosts.source)).toBe('stopped');
  expect(hosts.psql(hosts.target, 'SELECT pg_is_in_recovery()')).toBe('f');
  // The base backup made no manifest (--no-manifest: nothing reads one of a copy that became a live standby).
  expect(existsSync(join(hosts.target.pg.dataDir, 'backup_manifest'))).toBe(false);
  expect(treeHash(join(hosts.target.root, FILES_PATH))).toBe(treeHash(join(hosts.source.root, FILES_PATH)));
  expect(treeHash(join(hosts.target.root, '/srv/app/identity'))).toBe(treeHash(join(hosts.source.root, '/srv/app/identity')));
  // The copy is on the target's disk, not only in its page cache (Linux writes back after 30 s): a target
  // that crashed after the cut-over keeps every file.
  expect(dirtyFiles(join(hosts.target.root, FILES_PATH))).toEqual({});
  expect(dirtyFiles(join(hosts.target.root, '/srv/app/identity'))).toEqual({});
  expect(lostWrites(hosts, hosts.target, writer)).toEqual([]);
  expect(tableHashesOfStopped(hosts, hosts.source)).toEqual(tableHashes(hosts, hosts.target));
  expect(await dns.listRecords('example.test', 'app')).toEqual([
    { name: 'app.example.test.', type: 'A', ttl: 60, values: ['192.0.2.20'] },
  ]);
  const steps = await rig.store.getSteps(id);
  const cutOver = steps.find(step => step.name === 'cut-over')?.output as { downtimeSeconds: number };
  expect(cutOver.downtimeSeconds).toBeGreaterThan(0);
  expect(log).toContain('Target verified equal to the source');
  // The window's commands were started before it (readyCommands.ts) and fired in it.
  const output = (name: string) => steps.find(step => step.name === name)?.output as Record<string, Record<string, unknown>>;
  expect(output('final-sync')['files:media']).toMatchObject({ limitedPasses: 1, startedAhead: 1, listedAtTransferEnd: 2, endedAtTransfer: 1 });
  // Every one of them was set up and waiting at its gate before the window opened: each gate, the final
  // pass's rsync connected to the target, the relay's psql to the target's database.
  expect(steps.find(step => step.name === 'quiesce')?.output).toMatchObject({ commandsWaiting: true });
  // The app's quiesce ran in the database's switchover command, which stopped the database right after it on the source.
  expect(log).toContain('"followedBy":"postgres:database:quiesce"');
  // The source's stop relayed the guarded promotion to the target's psql host to host.
  expect(output('final-sync')['postgres:database']).toMatchObject({ startedAhead: 1, relayed: true, promotionRequested: true });
  // The promotion went out on the control file's early reading, or (a stop script that missed the 20–50 ms
  // between "shut down" and the exit on a loaded host) on the reading after the exit.
  const switchover = output('final-sync')['postgres:database'];
  expect(switchover.checkpointReadEarlySeconds ?? switchover.stopSeconds).toEqual(expect.any(Number));
  expect(output('verify')['files:media']).toMatchObject({ fullCompares: 0, listedAhead: 2 });
  // The verify took the final sync's command, still running: the stop's reading after the exit, the relay's watch of the promotion.
  expect(output('verify')['postgres:database']).toMatchObject({ promoted: true, watchedAhead: true });
  expect(output('verify').identity).toMatchObject({ identityEqual: true, startedAhead: 2 });
});
