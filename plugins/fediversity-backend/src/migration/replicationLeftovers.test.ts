import { randomUUID } from 'node:crypto';
import { MigrationHosts, startMigrationHosts } from '../testing/migrationHosts';
import { migrationParams } from '../testing/migrationFixtures';
import { sshHostConnector } from './hosts';
import { migrationParamsSchema } from './params';
import { dropReplicationLeftovers, replicationLeftovers } from './replicationLeftovers';

/**
 * The decommission's cleanup on a real source: OpenSSH with a pinned host key, PostgreSQL 15 with
 * `wal_level=logical`, and the slots and publication a migration would have left there.
 */
jest.setTimeout(120_000);

let hosts: MigrationHosts;

beforeAll(async () => {
  hosts = await startMigrationHosts({ fsync: false, walLevel: 'logical' });
});

afterAll(async () => {
  await hosts?.stop();
});

it('drops the migration slots and publication, leaves other slots, and skips a stopped database', async () => {
  const migrationJobId = randomUUID();
  const params = migrationParamsSchema.parse(migrationParams(hosts));
  const names = replicationLeftovers(migrationJobId, params.postgresDatabases);
  const [physical, logical] = names.slots;
  hosts.psql(hosts.source, `SELECT pg_create_physical_replication_slot('${physical}')`);
  hosts.psql(hosts.source, `SELECT pg_create_logical_replication_slot('${logical}', 'pgoutput')`);
  hosts.psql(hosts.source, `SELECT pg_create_physical_replication_slot('someone_elses_slot')`);
  hosts.psql(hosts.source, `CREATE PUBLICATION ${names.publication} FOR ALL TABLES`);
  const connect = sshHostConnector(async () => hosts.portalPrivateKey);
  const signal = new AbortController().signal;

  const outcome = await dropReplicationLeftovers({ migrationJobId, params, connect, signal });
  expect(outcome).toEqual({
    droppedSlots: expect.arrayContaining([physical, logical]),
    droppedPublications: [`postgres.${names.publication}`],
    activeSlots: [],
  });
  expect(hosts.psql(hosts.source, 'SELECT slot_name FROM pg_replication_slots ORDER BY 1')).toBe('someone_elses_slot');
  expect(hosts.psql(hosts.source, 'SELECT count(*) FROM pg_publication')).toBe('0');

  // Again: nothing left to drop.
  expect(await dropReplicationLeftovers({ migrationJobId, params, connect, signal })).toEqual({
    droppedSlots: [],
    droppedPublications: [],
    activeSlots: [],
  });

  hosts.pgStop(hosts.source);
  try {
    expect(await dropReplicationLeftovers({ migrationJobId, params, connect, signal })).toEqual({
      skipped: 'the source database is stopped; its slots go with the guest',
    });
  } finally {
    hosts.pgStart(hosts.source);
  }

  // The host key is pinned: a source presenting another key is refused before any command runs.
  const impostor = { ...params, source: { ...params.source, hostKey: params.target.hostKey } };
  await expect(dropReplicationLeftovers({ migrationJobId, params: impostor, connect, signal })).rejects.toThrow(/host key/i);
});
