import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StepContext } from '../jobs/types';
import { localRunner } from './commandRunner';
import { ReplicationExecutor } from './executor';
import { ensureStandby, measureStandbyLag, PgCluster, queryCluster, standbyPassfile } from './postgres';
import { ReplicationSchedule } from './ScheduleStore';
import { measureCommitToStandbyLag } from './__testUtils__/pgLag';
import { startTestPgPair, TestPgPair } from './__testUtils__/pgPair';

jest.setTimeout(180_000);

let pair: TestPgPair | string;

beforeAll(async () => {
  pair = await startTestPgPair();
});

afterAll(async () => {
  if (typeof pair !== 'string') await pair?.stop();
});

describe('PostgreSQL standby replication', () => {
  it('creates the standby once, measures its lag under a write load, and refuses a primary as standby', async () => {
    if (typeof pair === 'string') {
      console.warn(`Skipping: ${pair}`);
      return;
    }
    const { primary, standby, primaryEndpoint } = pair;
    expect(await ensureStandby(standby, primaryEndpoint)).toBe('created');
    expect(await ensureStandby(standby, primaryEndpoint)).toBe('running');
    expect(await queryCluster(primary, "SELECT slot_name FROM pg_replication_slots WHERE active")).toBe('fediversity_test');

    const lag = await measureCommitToStandbyLag({
      primaryUrl: pair.primaryUrl,
      standbyUrl: pair.standbyUrl,
      samples: 100,
      writers: 2,
    });
    console.log(`standby lag under ${lag.writeTps.toFixed(0)} tps: p50=${lag.p50.toFixed(2)} ms p99=${lag.p99.toFixed(2)} ms`);
    expect(lag.samples).toHaveLength(100);
    expect(lag.writeTps).toBeGreaterThan(10);
    // Streaming replication on loopback: commit-to-visible is milliseconds, not seconds.
    expect(lag.p50).toBeLessThan(1_000);

    const now = Date.now();
    let measured = await measureStandbyLag(primary, standby, () => now);
    for (let i = 0; i < 200 && measured.bytesBehind > 0; i++) {
      await new Promise(resolve => setTimeout(resolve, 20));
      measured = await measureStandbyLag(primary, standby, () => now);
    }
    expect(measured.bytesBehind).toBe(0);
    expect(measured.recoveryPointAt).toBe(now);
    expect(measured.replayLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    // The primary is not in recovery: "ensuring" it as a standby must refuse, not overwrite it.
    await expect(ensureStandby(primary, primaryEndpoint)).rejects.toThrow(/not in recovery/);
  });
});

describe('a primary whose postgresql.conf is a link, as on NixOS', () => {
  let linked: TestPgPair | string;

  beforeAll(async () => {
    linked = await startTestPgPair();
  });

  afterAll(async () => {
    if (typeof linked !== 'string') await linked?.stop();
  });

  it('gets the link again in the standby’s copy, which the base backup made without it', async () => {
    if (typeof linked === 'string') {
      console.warn(`Skipping: ${linked}`);
      return;
    }
    const { primary, standby, primaryEndpoint } = linked;
    // The Nix store stand-in: one file both "hosts" (here one machine) have.
    const store = join(dirname(primary.dataDir), 'store-postgresql.conf');
    renameSync(join(primary.dataDir, 'postgresql.conf'), store);
    symlinkSync(store, join(primary.dataDir, 'postgresql.conf'));
    expect(await ensureStandby(standby, { ...primaryEndpoint, cluster: primary })).toBe('created');
    expect(readlinkSync(join(standby.dataDir, 'postgresql.conf'))).toBe(store);
    expect(await queryCluster(standby, 'SELECT pg_is_in_recovery()')).toBe('t');
  });
});

describe('a primary that takes the replication role only over TLS, with its password', () => {
  const password = `s3cr:et\\${Math.random().toString(36).slice(2)}`;
  let secured: TestPgPair | string;

  beforeAll(async () => {
    secured = await startTestPgPair();
  });

  afterAll(async () => {
    if (typeof secured !== 'string') await secured?.stop();
  });

  it('streams with a passfile and a verified certificate, and names neither value in the standby’s settings', async () => {
    if (typeof secured === 'string') {
      console.warn(`Skipping: ${secured}`);
      return;
    }
    const { primary, standby, primaryEndpoint } = secured;
    const dir = dirname(primary.dataDir);
    const [cert, key] = [join(dir, 'server.crt'), join(dir, 'server.key')];
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=primary', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
    if (primary.osUser) execFileSync('chown', [`${primary.osUser}:`, key, cert]);
    chmodSync(key, 0o600);
    await queryCluster(primary, `CREATE ROLE replicator REPLICATION LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
    for (const [setting, value] of [['ssl_cert_file', cert], ['ssl_key_file', key], ['ssl', 'on']]) {
      await queryCluster(primary, `ALTER SYSTEM SET ${setting} = '${value}'`);
    }
    const hba = join(primary.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `hostssl replication replicator all scram-sha-256\nhostnossl replication replicator all reject\n${readFileSync(hba, 'utf8')}`);
    await queryCluster(primary, 'SELECT pg_reload_conf()');

    const endpoint = { ...primaryEndpoint, user: 'replicator', tls: { mode: 'verify-full' as const, rootCert: cert } };
    await expect(ensureStandby(standby, { ...endpoint, password: 'wrong password' })).rejects.toThrow(/password authentication failed/);

    // A schedule's run: the password by reference, resolved from config and kept out of the job's events.
    const registered: string[] = [];
    const executor = new ReplicationExecutor({
      connect: async () => ({ runner: localRunner, close: () => {} }),
      s3Credentials: () => {
        throw new Error('no buckets here');
      },
      postgresPassword: ref => {
        if (ref !== 'pg-replication') throw new Error(`unknown password ${ref}`);
        return password;
      },
    });
    const host = { host: '127.0.0.1', username: 'root', hostPublicKey: `ssh-ed25519 ${'A'.repeat(68)}` };
    const cluster = (c: PgCluster) => ({ host, bin: c.bin, osUser: c.osUser, dataDir: c.dataDir, port: c.port, socketDir: c.socketDir });
    const params = {
      primary: cluster(primary),
      primaryAddress: '127.0.0.1',
      standby: cluster(standby),
      replicationUser: 'replicator',
      replicationPasswordRef: 'pg-replication',
      replicationTls: { mode: 'verify-full', rootCert: cert },
      slot: primaryEndpoint.slot,
    };
    const ctx = {
      job: { id: 'job-1' },
      signal: new AbortController().signal,
      clock: { now: () => Date.now() },
      log: async () => {},
      registerSecret: (value: string) => registered.push(value),
    } as unknown as StepContext<any>;
    const outcome = await executor.run({ strategy: 'postgres', params } as unknown as ReplicationSchedule, ctx, async () => {});
    expect(outcome.detail).toMatchObject({ replayLsn: expect.stringMatching(/\//) });
    expect(registered).toEqual([password]);

    expect(await queryCluster(primary, "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.usename = 'replicator'")).toBe('t');
    const passfile = standbyPassfile(standby, primaryEndpoint.slot);
    expect(statSync(passfile).mode & 0o777).toBe(0o600);
    const settings = readFileSync(join(standby.dataDir, 'postgresql.auto.conf'), 'utf8');
    expect(settings).toMatch(/primary_conninfo = '.*passfile=''.*sslmode=''verify-full''/);
    expect(settings).not.toContain(password);
  });
});
