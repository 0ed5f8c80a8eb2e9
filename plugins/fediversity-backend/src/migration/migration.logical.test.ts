import { join } from 'node:path';
import { Knex } from 'knex';
import { migrationJobKind, MigrationJobKind } from './migrationJobKind';
import { sshHostConnector } from './hosts';
import { FILES_PATH, MigrationHosts, startMigrationHosts, tableHashes, treeHash } from '../testing/migrationHosts';
import { AppWriter, lostWrites, MemoryDnsProvider, migrationParams, seedSourceData } from '../testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, openJobDatabase } from '../testing/migrationEngine';

/**
 * The logical-replication path (used when the PostgreSQL majors differ; forced here, since only one major is
 * installed): schema copy, publication/subscription, confirmed-flush guard, sequences set, per-table ordered
 * hashes verified, subscription dropped at the cut-over. A writer works throughout.
 */
jest.setTimeout(180_000);

let hosts: MigrationHosts;
let knex: Knex;
let kind: MigrationJobKind | undefined;

beforeAll(async () => {
  hosts = await startMigrationHosts({ fsync: false, walLevel: 'logical' });
  knex = await openJobDatabase();
});

afterAll(async () => {
  await kind?.closeSessions();
  await knex?.destroy();
  await hosts?.stop();
});

it('migrates with logical replication and loses no acknowledged write', async () => {
  seedSourceData(hosts, { files: 50, fileBytes: 8_192, rows: 20_000 });
  const dns = new MemoryDnsProvider();
  kind = migrationJobKind({
    connect: sshHostConnector(async () => hosts.portalPrivateKey),
    dns: () => dns,
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2_000 },
    observeIntervalMs: 200,
  });
  const rig = migrationRig(knex, [kind]);
  const writer = new AppWriter(hosts);
  await writer.start();
  const id = await createMigration(rig, migrationParams(hosts, { postgresMethod: 'logical' }));
  const status = await driveToEnd(rig, id);
  await writer.stop();
  const log = await eventLog(rig, id);
  if (status !== 'succeeded') throw new Error(`migration ${status}:\n${log}`);
  expect(log).toContain('Subscribed; the initial copy is done');
  expect(log).toMatch(/"postgres.public.items":"20000"/);
  expect(writer.rows.size).toBeGreaterThan(10);
  expect(lostWrites(hosts, hosts.target, writer)).toEqual([]);
  expect(treeHash(join(hosts.target.root, FILES_PATH))).toBe(treeHash(join(hosts.source.root, FILES_PATH)));
  // The source keeps running with logical replication (quiesced app, no writes): compare directly.
  expect(tableHashes(hosts, hosts.target)).toEqual(tableHashes(hosts, hosts.source));
  // Sequences were carried over: the next id on the target does not collide.
  expect(Number(hosts.psql(hosts.target, "INSERT INTO items (name, n) VALUES ('new', 0) RETURNING id"))).toBeGreaterThan(20_000);
  expect(hosts.psql(hosts.target, 'SELECT count(*) FROM pg_subscription')).toBe('0');
});
