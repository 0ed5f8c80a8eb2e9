import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Knex } from 'knex';
import { ConnectedHost, HostConnector } from './hosts';
import { migrationJobKind, MigrationJobKind } from './migrationJobKind';
import { MigrationHosts, startMigrationHosts, tableHashes, tableHashesOfStopped } from '../testing/migrationHosts';
import { MemoryDnsProvider, migrationParams, portalConnector, seedSourceData } from '../testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, MigrationRig, openJobDatabase, OPERATOR } from '../testing/migrationEngine';

/**
 * A source whose pg_hba.conf asks the replication role for its password (scram-sha-256) over TLS, as a host
 * across providers would: the job names the password by reference, and it reaches the target's cluster only
 * as a passfile; the target verifies the source's certificate (verify-full). Physical streaming and logical
 * replication each migrate so; a wrong password or an unknown certificate stops the job at its preflight.
 * The password holds the characters a passfile escapes (`:` and `\`) and a quote.
 */
jest.setTimeout(240_000);

const ROLE = 'replicator';
const PASSWORD_REF = 'pg-replication';
const PASSWORD = `r3pl:ic\\ation'${Math.random().toString(36).slice(2)}`;

let knex: Knex;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  knex = await openJobDatabase();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await knex?.destroy();
});

/** A self-signed certificate for `address` (its own CA), in `dir`: [certificate, key]. */
function selfSignedCertificate(dir: string, name: string, address: string): [string, string] {
  const [cert, key] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-addext', `subjectAltName=IP:${address}`, '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return [cert, key];
}

/**
 * Test hosts whose source lets ROLE in over TLS with its password only (a connection without TLS is
 * rejected, whatever initdb's trust lines say), its certificate's CA on the target at `caOnTarget`.
 */
async function hostsAskingForPasswordOverTls(walLevel: 'replica' | 'logical'): Promise<MigrationHosts & { caOnTarget: string; otherCaOnTarget: string }> {
  const hosts = await startMigrationHosts({ fsync: false, walLevel });
  cleanups.push(() => hosts.stop());
  const [cert, key] = selfSignedCertificate(hosts.source.pg.dataDir, 'server', hosts.source.address);
  if (process.getuid?.() === 0) execFileSync('chown', [`${hosts.osUser}:`, key]);
  chmodSync(key, 0o600);
  const certs = join(hosts.target.root, 'etc/fediversity');
  mkdirSync(certs, { recursive: true });
  const caOnTarget = join(certs, 'source-ca.crt');
  copyFileSync(cert, caOnTarget);
  const [otherCaOnTarget] = selfSignedCertificate(certs, 'other-ca', hosts.source.address);
  const quoted = PASSWORD.replace(/'/g, "''");
  hosts.psql(hosts.source, `CREATE ROLE ${ROLE} REPLICATION LOGIN PASSWORD '${quoted}'; GRANT pg_read_all_data TO ${ROLE};`);
  for (const [setting, value] of [['ssl_cert_file', cert], ['ssl_key_file', key], ['ssl', 'on']]) {
    hosts.psql(hosts.source, `ALTER SYSTEM SET ${setting} = '${value}'`);
  }
  const hba = join(hosts.source.pg.dataDir, 'pg_hba.conf');
  // First match wins: these come before initdb's trust lines.
  const lines = ['replication', 'all'].flatMap(database => [
    `hostssl ${database} ${ROLE} all scram-sha-256`,
    `hostnossl ${database} ${ROLE} all reject`,
  ]);
  writeFileSync(hba, `${lines.join('\n')}\n${readFileSync(hba, 'utf8')}`);
  hosts.psql(hosts.source, 'SELECT pg_reload_conf()');
  return Object.assign(hosts, { caOnTarget, otherCaOnTarget });
}

/** The portal's connector, recording every command it runs on either host. */
function recordingConnector(connect: HostConnector, argvs: string[][]): HostConnector {
  return async (role, host, signal) => {
    const connected = await connect(role, host, signal);
    return {
      role,
      run: (argv, options) => {
        argvs.push([...argv]);
        return connected.run(argv, options);
      },
      close: () => connected.close(),
    } satisfies ConnectedHost;
  };
}

function migrationKind(hosts: MigrationHosts, argvs: string[][], password = PASSWORD): MigrationJobKind {
  const dns = new MemoryDnsProvider();
  const kind = migrationJobKind({
    connect: recordingConnector(portalConnector(hosts), argvs),
    resolveSecret: async ref => {
      if (ref !== PASSWORD_REF) throw new Error(`unknown secret ${ref}`);
      return password;
    },
    dns: () => dns,
    retry: { maxAttempts: 2, initialDelayMs: 200, maxDelayMs: 1_000 },
    observeIntervalMs: 200,
  });
  cleanups.push(() => kind.closeSessions());
  return kind;
}

type SecuredHosts = Awaited<ReturnType<typeof hostsAskingForPasswordOverTls>>;

function withPassword(hosts: SecuredHosts, overrides: Record<string, unknown> = {}) {
  return migrationParams(hosts, {
    replicationUser: ROLE,
    replicationPassword: { secretRef: PASSWORD_REF },
    replicationTls: { mode: 'verify-full', rootCert: hosts.caOnTarget },
    ...overrides,
  });
}

/** Files the job left beside the target's data directory that look like passfiles. */
function passfilesOnTarget(hosts: MigrationHosts): string[] {
  return readdirSync(dirname(hosts.target.pg.dataDir)).filter(name => name.endsWith('.pgpass'));
}

/** What the job stored and showed: its events, steps (outputs, checkpoints, errors) and itself. */
async function everythingStored(rig: MigrationRig, id: string): Promise<string> {
  const [job, steps, events] = await Promise.all([rig.store.getJob(id), rig.store.getSteps(id), rig.store.listEvents(id, 0, 10_000)]);
  return JSON.stringify({ job, steps, events });
}

function expectNoPassword(stored: string, argvs: string[][]) {
  expect(stored).not.toContain(PASSWORD);
  expect(argvs.filter(argv => argv.some(word => word.includes(PASSWORD)))).toEqual([]);
  expect(argvs.length).toBeGreaterThan(10);
}

describe('physical streaming', () => {
  let hosts: SecuredHosts;

  beforeAll(async () => {
    hosts = await hostsAskingForPasswordOverTls('replica');
    seedSourceData(hosts, { files: 20, fileBytes: 4_096, rows: 5_000 });
  });

  it('stops at the preflight on a wrong password, with the source serving and nothing left on the target', async () => {
    const argvs: string[][] = [];
    const rig = migrationRig(knex, [migrationKind(hosts, argvs, `${PASSWORD}-wrong`)]);
    const id = await createMigration(rig, withPassword(hosts));
    const status = await driveToEnd(rig, id);
    const job = await rig.store.getJob(id);
    expect(status).toBe('failed');
    expect(job?.error?.message).toMatch(new RegExp(`cannot open a replication connection to the source database .*as ${ROLE} with the password the job names`));
    expect(job?.error?.message).toMatch(/password authentication failed/);
    expect(hosts.pgStatus(hosts.source)).toBe('running');
    expect(hosts.psql(hosts.source, 'SELECT count(*) FROM pg_replication_slots')).toBe('0');
    expect(passfilesOnTarget(hosts)).toEqual([]);
    expect(await everythingStored(rig, id)).not.toContain(`${PASSWORD}-wrong`);
  });

  it('stops at the preflight where the source’s certificate is not signed by the CA the job names', async () => {
    const rig = migrationRig(knex, [migrationKind(hosts, [])]);
    const id = await createMigration(rig, withPassword(hosts, { replicationTls: { mode: 'verify-full', rootCert: hosts.otherCaOnTarget } }));
    expect(await driveToEnd(rig, id)).toBe('failed');
    const error = (await rig.store.getJob(id))?.error?.message;
    expect(error).toMatch(/sslmode verify-full.*check its certificate: .*certificate verify failed/);
    expect(hosts.psql(hosts.source, 'SELECT count(*) FROM pg_replication_slots')).toBe('0');
    expect(passfilesOnTarget(hosts)).toEqual([]);
  });

  it('removes the passfile with the rollback of a migration cancelled at its approval', async () => {
    const argvs: string[][] = [];
    const rig = migrationRig(knex, [migrationKind(hosts, argvs)]);
    const id = await createMigration(rig, withPassword(hosts));
    expect(await driveToEnd(rig, id, { approve: false, stopAt: status => status === 'awaiting_approval' })).toBe('awaiting_approval');
    expect(passfilesOnTarget(hosts)).toHaveLength(1);
    await rig.service.cancel(id, OPERATOR, 'not today');
    expect(await driveToEnd(rig, id)).toBe('cancelled');
    expect(passfilesOnTarget(hosts)).toEqual([]);
    expect(hosts.pgStatus(hosts.source)).toBe('running');
    expect(hosts.psql(hosts.source, 'SELECT count(*) FROM pg_replication_slots')).toBe('0');
  });

  it('migrates with the password in a passfile only, removed once the target serves', async () => {
    const argvs: string[][] = [];
    const rig = migrationRig(knex, [migrationKind(hosts, argvs)]);
    const id = await createMigration(rig, withPassword(hosts));
    let passfileWhileStreaming: string[] = [];
    const status = await driveToEnd(rig, id, {
      onPoll: async () => {
        if ((await rig.store.getJob(id))?.status === 'awaiting_approval' && !passfileWhileStreaming.length) passfileWhileStreaming = passfilesOnTarget(hosts);
      },
    });
    if (status !== 'succeeded') throw new Error(`migration ${status}:\n${await eventLog(rig, id)}`);
    expect(tableHashesOfStopped(hosts, hosts.source)).toEqual(tableHashes(hosts, hosts.target));
    // The standby found its password through the passfile its primary_conninfo names, never the value.
    expect(passfileWhileStreaming).toHaveLength(1);
    const autoConf = readFileSync(join(hosts.target.pg.dataDir, 'postgresql.auto.conf'), 'utf8');
    expect(autoConf).toMatch(/primary_conninfo = '.*passfile=/);
    expect(autoConf).toMatch(/primary_conninfo = '.*sslmode=''verify-full''.*sslrootcert=/);
    expect(autoConf).not.toContain(PASSWORD.slice(0, 6));
    expect(passfilesOnTarget(hosts)).toEqual([]);
    expectNoPassword(await everythingStored(rig, id), argvs);
  });
});

describe('logical replication', () => {
  let hosts: SecuredHosts;

  beforeAll(async () => {
    hosts = await hostsAskingForPasswordOverTls('logical');
    seedSourceData(hosts, { files: 20, fileBytes: 4_096, rows: 5_000 });
  });

  it('subscribes with the passfile, and drops it with the subscription', async () => {
    const argvs: string[][] = [];
    const rig = migrationRig(knex, [migrationKind(hosts, argvs)]);
    const id = await createMigration(rig, withPassword(hosts, { postgresMethod: 'logical' }));
    const status = await driveToEnd(rig, id);
    const log = await eventLog(rig, id);
    if (status !== 'succeeded') throw new Error(`migration ${status}:\n${log}`);
    expect(log).toContain('Subscribed; the initial copy is done');
    expect(tableHashes(hosts, hosts.target)).toEqual(tableHashes(hosts, hosts.source));
    expect(passfilesOnTarget(hosts)).toEqual([]);
    expectNoPassword(await everythingStored(rig, id), argvs);
  });
});
