import { existsSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Knex } from 'knex';
import { migrationJobKind } from './migrationJobKind';
import { MigrationHosts, startMigrationHosts, tableHashes, tableHashesOfStopped } from '../testing/migrationHosts';
import { MemoryDnsProvider, migrationParams, portalConnector, seedSourceData } from '../testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, openJobDatabase } from '../testing/migrationEngine';

/**
 * A source laid out as NixOS lays out its cluster: postgresql.conf in the data directory is a link into the
 * Nix store, to a file a target that built another configuration does not have. Here the "store" is a
 * directory the target host does not see (its sshd, and the cluster it starts, in a mount namespace with an
 * empty tmpfs there). The base backup would copy the link as it is and the standby would not start; the
 * preflight refuses first, naming the file. Once the target has the same file, the migration goes through.
 */
jest.setTimeout(240_000);

const itAsRoot = process.getuid?.() === 0 ? it : it.skip;

let knex: Knex;
let hosts: MigrationHosts | undefined;

beforeAll(async () => {
  knex = await openJobDatabase();
});

afterAll(async () => {
  await hosts?.stop();
  await knex?.destroy();
});

itAsRoot('refuses a source whose postgresql.conf links to a file the target lacks, and migrates once the target has it', async () => {
  hosts = await startMigrationHosts({ fsync: false, sourceOnlyDirectory: true });
  seedSourceData(hosts, { files: 10, fileBytes: 4_096, rows: 2_000 });
  const storePath = join(hosts.sourceOnlyDirectory!, '0123456789abcdfghijklmnpqrsvwxyz-postgresql.conf');
  const conf = join(hosts.source.pg.dataDir, 'postgresql.conf');
  renameSync(conf, storePath);
  symlinkSync(storePath, conf);
  // The source itself still reads its configuration through the link.
  hosts.psql(hosts.source, 'SELECT pg_reload_conf()');
  expect(hosts.psql(hosts.source, "SELECT sourcefile FROM pg_settings WHERE name = 'max_connections'")).toBe(conf);

  const dns = new MemoryDnsProvider();
  const kind = migrationJobKind({
    connect: portalConnector(hosts),
    dns: () => dns,
    retry: { maxAttempts: 2, initialDelayMs: 200, maxDelayMs: 1_000 },
    observeIntervalMs: 200,
  });
  try {
    const rig = migrationRig(knex, [kind]);
    const refused = await createMigration(rig, migrationParams(hosts));
    expect(await driveToEnd(rig, refused)).toBe('failed');
    const job = await rig.store.getJob(refused);
    expect(job?.error?.message).toContain(`names files the target lacks, and the copy would look for them there: ${storePath}.`);
    expect((await rig.store.getSteps(refused)).find(step => step.status === 'failed')?.name).toBe('preflight');
    expect(hosts.pgStatus(hosts.source)).toBe('running');
    expect(hosts.psql(hosts.source, 'SELECT count(*) FROM pg_replication_slots')).toBe('0');
    expect(existsSync(hosts.target.pg.dataDir)).toBe(false);

    // The same configuration built on the target: the file, in the target's own view of the store.
    writeFileSync(`/proc/${hosts.target.sshdPid()}/root${storePath}`, readFileSync(storePath));
    const id = await createMigration(rig, migrationParams(hosts));
    const status = await driveToEnd(rig, id);
    if (status !== 'succeeded') throw new Error(`migration ${status}:\n${await eventLog(rig, id)}`);
    expect(await eventLog(rig, id)).toContain('Linked in the copy as on the source (a base backup skips links) {"links":["postgresql.conf"]}');
    expect(readlinkSync(join(hosts.target.pg.dataDir, 'postgresql.conf'))).toBe(storePath);
    expect(tableHashesOfStopped(hosts, hosts.source)).toEqual(tableHashes(hosts, hosts.target));
  } finally {
    await kind.closeSessions();
  }
});
