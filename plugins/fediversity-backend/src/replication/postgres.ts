import { posix } from 'node:path';
import { InputError } from '@backstage/errors';
import { ReplicationTls } from '@fediversity/plugin-fediversity-common';
import {
  assertHostname,
  assertPort,
  assertRemotePath,
  assertUsername,
  libpqEnvironment,
  LibpqSettings,
  libpqSettings,
  listDataDirectoryLinksArgv,
  parseDataDirectoryLinks,
  passfileLine,
  restoreDataDirectoryLinksArgv,
  WRITE_PRIVATE_FILE_SCRIPT,
} from '@fediversity/plugin-fediversity-node';
import { CommandRunner } from './commandRunner';

/*
 * The database data class: a continuous physical standby (streaming replication with a slot) on a second host.
 * The portal creates it once (pg_basebackup -R -C -S) and from then on only measures it: the standby's replay
 * position against the primary's WAL position gives the bytes behind and the recovery point.
 */

/** A PostgreSQL cluster on a host, driven as its OS user through the host's command runner. */
export interface PgCluster {
  runner: CommandRunner;
  /** Directory of the server binaries, e.g. /usr/lib/postgresql/15/bin. */
  bin: string;
  /** Runs the programs as this user (via runuser) when set; the connection's user otherwise. */
  osUser?: string;
  dataDir: string;
  port: number;
  /** Unix socket directory on that host. */
  socketDir: string;
}

/** Where the standby connects to the primary, as a REPLICATION role. */
export interface PrimaryEndpoint {
  host: string;
  port: number;
  user: string;
  /** Physical replication slot, so the primary keeps the WAL the standby still needs. */
  slot: string;
  /**
   * The role's password, where the primary's pg_hba.conf asks for one: it reaches the standby's host only as
   * a passfile (standbyPassfile). Without it, a `.pgpass` of the host's own or a trusted role.
   */
  password?: string;
  /** TLS of the connection (libpq sslmode; default prefer). */
  tls?: ReplicationTls;
  /**
   * The primary's cluster on its own host, where the portal reaches it: the links in its data directory that
   * a base backup skips (NixOS's postgresql.conf) are made again in the standby's copy.
   */
  cluster?: PgCluster;
}

export interface StandbyLag {
  primaryLsn: string;
  replayLsn: string;
  bytesBehind: number;
  /** Commit time of the last replayed transaction (ms), if any was replayed. */
  lastReplayedCommitAt?: number;
  /** The age of the newest consistent copy: now when caught up, else the last replayed commit. */
  recoveryPointAt: number;
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;
const SLOT = /^[a-z0-9_]{1,63}$/;

function validate(cluster: PgCluster) {
  assertRemotePath(cluster.bin, 'PostgreSQL bin directory', { plain: true });
  assertRemotePath(cluster.dataDir, 'PostgreSQL data directory', { plain: true });
  assertRemotePath(cluster.socketDir, 'PostgreSQL socket directory', { plain: true });
  assertPort(cluster.port, 'PostgreSQL port');
  if (cluster.osUser !== undefined) assertUsername(cluster.osUser, 'PostgreSQL OS user');
}

function programArgv(cluster: PgCluster, program: string, args: string[], environment: string[] = []): string[] {
  return asClusterUser(cluster, [...(environment.length ? ['env', ...environment] : []), posix.join(cluster.bin, program), ...args]);
}

/** From `/`: the SSH user's home, runuser's working directory otherwise, may be closed to the cluster's user. */
function asClusterUser(cluster: PgCluster, argv: string[]): string[] {
  return cluster.osUser ? ['runuser', '-u', cluster.osUser, '--', 'env', '-C', '/', ...argv] : argv;
}

/** The standby's passfile for its slot: beside its data directory (a base backup needs that empty). */
export function standbyPassfile(standby: PgCluster, slot: string): string {
  return posix.join(posix.dirname(standby.dataDir), `.${slot}.pgpass`);
}

/**
 * How the standby connects besides host, port and user: the passfile, written now (from stdin, readable by
 * the cluster's user only; again on every run, so a changed password reaches a running standby's next
 * reconnect), and TLS.
 */
async function standbyConnection(standby: PgCluster, primary: PrimaryEndpoint, signal?: AbortSignal): Promise<LibpqSettings> {
  const tls = primary.tls ?? { mode: 'prefer' };
  if (primary.password === undefined) return libpqSettings(tls);
  const passfile = standbyPassfile(standby, primary.slot);
  const line = passfileLine({ host: primary.host, port: primary.port, user: primary.user, password: primary.password });
  await standby.runner.run(asClusterUser(standby, ['sh', '-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', passfile]), { signal, stdin: `${line}\n` });
  return libpqSettings(tls, passfile);
}

/** One query's first row, `|`-separated (psql -At). Only constant SQL or validated literals reach here. */
export async function queryCluster(cluster: PgCluster, sql: string, signal?: AbortSignal): Promise<string> {
  validate(cluster);
  const result = await cluster.runner.run(
    programArgv(cluster, 'psql', [
      '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
      '-h', cluster.socketDir, '-p', String(cluster.port), '-d', 'postgres', '-c', sql,
    ]),
    { signal },
  );
  return result.stdout.trim();
}

async function clusterStatus(cluster: PgCluster, signal?: AbortSignal): Promise<'running' | 'stopped' | 'absent'> {
  const result = await cluster.runner.run(programArgv(cluster, 'pg_ctl', ['-D', cluster.dataDir, 'status']), {
    signal,
    check: false,
  });
  if (result.exitCode === 0) return 'running';
  if (result.exitCode === 3) return 'stopped';
  return 'absent';
}

async function startCluster(cluster: PgCluster, signal?: AbortSignal) {
  // pg_ctl hands -o to a shell; every value in it is a validated number or plain path.
  const serverOptions = `-p ${cluster.port} -k ${cluster.socketDir}`;
  const logFile = posix.join(posix.dirname(cluster.dataDir), `postgresql-${cluster.port}.log`);
  await cluster.runner.run(
    programArgv(cluster, 'pg_ctl', ['-D', cluster.dataDir, '-l', logFile, '-w', '-t', '120', '-o', serverOptions, 'start']),
    { signal },
  );
}

/** The primary data directory's links, made again in the standby's fresh copy (see PrimaryEndpoint.cluster). */
async function restoreDataDirectoryLinks(primary: PgCluster, standby: PgCluster, signal?: AbortSignal) {
  validate(primary);
  const listed = await primary.runner.run(asClusterUser(primary, listDataDirectoryLinksArgv(primary.dataDir)), { signal });
  const links = parseDataDirectoryLinks(listed.stdout);
  if (links.length) await standby.runner.run(asClusterUser(standby, restoreDataDirectoryLinksArgv(standby.dataDir, links)), { signal });
}

/**
 * Makes sure `standby` is a running standby of `primary`: creates it with pg_basebackup (slot included) when its
 * data directory does not exist, starts it when stopped, and refuses a running server that is not in recovery
 * (it would be a primary: never overwritten). Idempotent.
 */
export async function ensureStandby(
  standby: PgCluster,
  primary: PrimaryEndpoint,
  signal?: AbortSignal,
): Promise<'created' | 'started' | 'running'> {
  validate(standby);
  assertHostname(primary.host, 'primary host');
  assertPort(primary.port, 'primary port');
  assertUsername(primary.user, 'replication user');
  if (!SLOT.test(primary.slot)) throw new InputError(`Invalid replication slot name ${JSON.stringify(primary.slot)}`);

  if (primary.tls?.rootCert !== undefined) assertRemotePath(primary.tls.rootCert, 'CA certificate', { plain: true });

  const connection = await standbyConnection(standby, primary, signal);
  const environment = libpqEnvironment(connection);
  const status = await clusterStatus(standby, signal);
  let outcome: 'created' | 'started' | 'running' = 'running';
  if (status === 'absent') {
    const args = [
      '-h', primary.host, '-p', String(primary.port), '-U', primary.user, '-D', standby.dataDir,
      '-X', 'stream', '-R', '-S', primary.slot, '-c', 'fast', '-w',
    ];
    const withSlot = await standby.runner.run(programArgv(standby, 'pg_basebackup', [...args, '-C'], environment), {
      signal,
      check: false,
    });
    if (withSlot.exitCode !== 0) {
      if (!/already exists/.test(withSlot.stderr)) {
        throw new Error(`pg_basebackup failed: ${withSlot.stderr.trim().slice(-800)}`);
      }
      // An earlier attempt created the slot before failing: reuse it.
      await standby.runner.run(['rm', '-rf', '--', standby.dataDir], { signal });
      await standby.runner.run(programArgv(standby, 'pg_basebackup', args, environment), { signal });
    }
    if (primary.cluster) await restoreDataDirectoryLinks(primary.cluster, standby, signal);
    outcome = 'created';
  }
  if (status !== 'running') {
    await startCluster(standby, signal);
    if (outcome === 'running') outcome = 'started';
  }
  const inRecovery = await queryCluster(standby, 'SELECT pg_is_in_recovery()', signal);
  if (inRecovery !== 't') {
    throw new Error(`The server at ${standby.dataDir} is not in recovery: it is a primary, not a standby`);
  }
  return outcome;
}

/** How far the standby is behind the primary, and so the database's recovery point. */
export async function measureStandbyLag(
  primary: PgCluster,
  standby: PgCluster,
  now: () => number,
  signal?: AbortSignal,
): Promise<StandbyLag> {
  const measuredAt = now();
  const primaryLsn = await queryCluster(primary, 'SELECT pg_current_wal_lsn()', signal);
  if (!LSN.test(primaryLsn)) throw new Error(`Unexpected primary LSN ${JSON.stringify(primaryLsn)}`);
  const row = await queryCluster(
    standby,
    `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(), ` +
      `pg_wal_lsn_diff('${primaryLsn}', pg_last_wal_replay_lsn()), ` +
      `floor(extract(epoch from pg_last_xact_replay_timestamp()) * 1000)`,
    signal,
  );
  const [inRecovery, replayLsn, behind, replayedAt] = row.split('|');
  if (inRecovery !== 't') throw new Error('The standby is not in recovery (was it promoted?)');
  const bytesBehind = Math.max(0, Number(behind));
  const lastReplayedCommitAt = replayedAt ? Number(replayedAt) : undefined;
  return {
    primaryLsn,
    replayLsn,
    bytesBehind,
    lastReplayedCommitAt,
    recoveryPointAt: bytesBehind === 0 ? measuredAt : (lastReplayedCommitAt ?? 0),
  };
}
