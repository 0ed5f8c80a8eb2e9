import { posix } from 'node:path';
import { PermanentJobError } from '../jobs/errors';
import { asUser } from './hosts';
import { assertLsn, LSN, lsnPosition, PostgresOnHost } from './postgres';
import { CatchUpRound, MigrationStrategy, StrategyEnv } from './strategy';

/** How long the final sync waits for the standby to replay the old primary's shutdown checkpoint. */
const REPLAY_WAIT_MS = 60_000;
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

/** The replication slot of a migration job on the source (allow-listed characters only). */
export function slotName(jobId: string): string {
  return `fediversity_${jobId.replace(/[^a-f0-9]/gi, '').slice(0, 24).toLowerCase()}`;
}

/**
 * `postgresql-streaming`: the target becomes a physical standby (`pg_basebackup -R -C -S <slot>`, bytes
 * streamed host to host), lag is watched while the app runs, and the switchover is the planned one: the
 * source stops with `-m fast` (a shutdown checkpoint, streamed), the standby must have replayed past that
 * checkpoint (the LSN guard), then its promotion is requested, all in the final sync; the verify waits for
 * it to end. The promotion does not wait for the cut-over: until then no client reaches the target (its app
 * is stopped, DNS unchanged), so a promoted target holds nothing the source does not, and a rollback
 * discards it (undoInitialSync); meanwhile the files' final pass and verify run, and most of the
 * promotion's 0.07–0.2 s leave the window. The source cluster is
 * only stopped and keeps its data; the slot it holds is dropped on rollback or by the decommission job.
 */
export class PostgresStreamingStrategy implements MigrationStrategy {
  readonly name: string;

  constructor(dataClassName: string) {
    this.name = `postgres:${dataClassName}`;
  }

  private clusters(env: StrategyEnv) {
    const { source, target } = env.params;
    if (!source.postgres || !target.postgres) {
      throw new PermanentJobError('postgresql-streaming needs source.postgres and target.postgres');
    }
    return {
      source: new PostgresOnHost(env.source, source, source.postgres),
      target: new PostgresOnHost(env.target, target, target.postgres),
    };
  }

  async preflight(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    if ((await source.status(env.signal)) !== 'running') {
      throw new PermanentJobError('The source database is not running');
    }
    const [version, systemId, walLevel, walSenders] = (
      await source.query(
        `SELECT current_setting('server_version_num'), (SELECT system_identifier FROM pg_control_system()), ` +
          `current_setting('wal_level'), current_setting('max_wal_senders')`,
        env.signal,
      )
    ).split('|');
    const sourceMajor = Math.floor(Number(version) / 10_000);
    const targetMajor = await target.majorVersion(env.signal);
    if (sourceMajor !== targetMajor) {
      throw new PermanentJobError(
        `PostgreSQL ${sourceMajor} on the source, ${targetMajor} on the target: physical streaming needs equal ` +
          'major versions (postgresMethod auto or logical uses logical replication)',
      );
    }
    if (walLevel === 'minimal') throw new PermanentJobError('The source has wal_level=minimal; streaming needs replica');
    if (Number(walSenders) < 2) throw new PermanentJobError('The source allows fewer than 2 WAL senders');
    await this.checkReplicationConnection(env);
    return { postgres: { sourceMajor, targetMajor, systemId, walLevel, method: 'physical-streaming' } };
  }

  async sourceBytes(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const bytes = Number(await source.query('SELECT sum(pg_database_size(oid)) FROM pg_database', env.signal));
    return { bytes, targetPath: target.pg.dataDir };
  }

  async prepareTarget(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const dataDir = target.pg.dataDir;
    const hasCluster = await env.target.run(['test', '-e', posix.join(dataDir, 'PG_VERSION')], {
      signal: env.signal,
      check: false,
    });
    if (hasCluster.exitCode === 0) {
      // Only a standby of this very source (an earlier run of this job) may be reused or replaced.
      const sourceId = await source.query('SELECT system_identifier FROM pg_control_system()', env.signal);
      const targetId = (await target.controlData(env.signal))['Database system identifier'];
      const isStandby = await env.target.run(['test', '-e', posix.join(dataDir, 'standby.signal')], {
        signal: env.signal,
        check: false,
      });
      if (targetId !== sourceId || isStandby.exitCode !== 0) {
        throw new PermanentJobError(
          `The target data directory ${dataDir} holds another PostgreSQL cluster; refusing to overwrite it`,
        );
      }
      return;
    }
    await this.emptyTargetDataDir(env, target);
  }

  async initialSync(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const slot = slotName(env.jobId);
    if (env.checkpoint.basebackup !== 'done' || (await this.targetState(env)) === 'empty') {
      if ((await target.status(env.signal)) === 'running') await target.stop('immediate', env.signal);
      await this.emptyTargetDataDir(env, target);
      await this.dropSlot(source, slot, env);
      await env.log('Copying the source database (pg_basebackup, streamed host to host)', { slot });
      await target.program(
        'pg_basebackup',
        [
          '-h', source.pg.address,
          '-p', String(source.pg.port),
          '-U', env.params.replicationUser,
          '-D', target.pg.dataDir,
          '-X', 'stream', '-R', '-C', '-S', slot, '-c', 'fast', '--no-password',
        ],
        env.signal,
      );
      await env.saveCheckpoint({ basebackup: 'done' });
      await env.log('Base backup done; starting the standby');
    }
    if ((await target.status(env.signal)) !== 'running') await target.start(env.signal);
    await this.waitUntil(env, async () => (await target.query('SELECT status FROM pg_stat_wal_receiver', env.signal)) === 'streaming', 'the standby to stream');
    await env.log('The standby streams from the source');
    return { slot, lagBytes: await this.lagBytes(env) };
  }

  async catchUp(env: StrategyEnv): Promise<CatchUpRound> {
    const { target } = this.clusters(env);
    if ((await target.status(env.signal)) !== 'running') await target.start(env.signal);
    const lagBytes = await this.lagBytes(env);
    return { seconds: 0, lagBytes, caughtUp: lagBytes <= env.params.catchUp.maxLagBytes };
  }

  /** While the app still serves: a checkpoint now leaves the shutdown checkpoint only what is written after it. */
  async prepareWindow(env: StrategyEnv) {
    const { source } = this.clusters(env);
    await source.query('CHECKPOINT', env.signal);
  }

  async finalSync(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const started = env.now();
    const targetStatus = target.status(env.signal);
    await env.saveCheckpoint({ stoppedSource: true });
    try {
      await source.stopPromptly('fast', env.signal);
    } catch (error) {
      // An earlier run of this step may have stopped it already.
      if ((await source.status(env.signal)) !== 'stopped') throw error;
    } finally {
      await targetStatus.catch(() => undefined);
    }
    const stoppedSeconds = (env.now() - started) / 1000;
    if ((await targetStatus) !== 'running') await target.start(env.signal);
    // The LSN guard. The postmaster exits only once the standby has the shutdown checkpoint, so its replay
    // position is read at the same time as the checkpoint's location and usually passes at once.
    const [checkpointLsn, replayLsn] = await Promise.all([
      this.sourceShutdownCheckpoint(env, source),
      target.query('SELECT pg_last_wal_replay_lsn()', env.signal),
    ]);
    if (!LSN.test(replayLsn) || lsnPosition(replayLsn) < lsnPosition(checkpointLsn)) {
      await this.waitUntil(env, () => this.replayedPast(target, checkpointLsn, env), `the standby to replay ${checkpointLsn}`);
    }
    // The promotion is requested right away and runs while the files finish and verify: see the class comment.
    // Check-then-act, so a rerun that finds it promoted goes on (pg_promote refuses a server not in recovery).
    await target.query('SELECT CASE WHEN pg_is_in_recovery() THEN pg_promote(false) ELSE true END', env.signal);
    return { checkpointLsn, stopSeconds: stoppedSeconds, seconds: (env.now() - started) / 1000, promotionRequested: true };
  }

  /**
   * The LSN guard once more, one command per host at once: the source's control file (cleanly shut down,
   * its last checkpoint, its system identifier), and on the target the end of its promotion, its identifier
   * and replay LSN.
   */
  async verify(env: StrategyEnv) {
    const { source } = this.clusters(env);
    const started = env.now();
    const [fields, target] = await Promise.all([source.controlData(env.signal), this.promote(env)]);
    const checkpointLsn = shutdownCheckpoint(fields);
    const sourceId = fields['Database system identifier'];
    if (sourceId !== target.systemIdentifier) {
      throw new PermanentJobError(`Verification failed: system identifiers differ (${sourceId} vs ${target.systemIdentifier})`);
    }
    // After its promotion the replay position stays where recovery ended (it is empty only after a restart,
    // which then fails the verify: the rollback discards the copy, the safe side).
    if (!LSN.test(target.replayLsn) || lsnPosition(target.replayLsn) < lsnPosition(checkpointLsn)) {
      throw new PermanentJobError(`Verification failed: the target has not replayed the source's last checkpoint ${checkpointLsn}`);
    }
    return { checkpointLsn, systemIdentifier: sourceId, promoted: true, seconds: (env.now() - started) / 1000 };
  }

  /** The promotion, where the final sync did not do it already (a job from before it did); idempotent. */
  async cutOver(env: StrategyEnv) {
    await this.promote(env);
  }

  /**
   * Promotes, or waits for the promotion the final sync requested, and reads what the verify compares, in
   * one command: `pg_promote(wait => true)` checks for the end of recovery every 100 ms, so the promotion is
   * requested (again: harmless) without waiting and the same session watches for it every 2 ms (at most
   * 60 s). A target that is already promoted is left as it is.
   */
  private async promote(env: StrategyEnv): Promise<{ systemIdentifier: string; replayLsn: string }> {
    const { target } = this.clusters(env);
    const promote = () => target.query(PROMOTE_AND_WAIT, env.signal);
    const answer = await promote().catch(async error => {
      if ((await target.status(env.signal)) === 'running') throw error;
      await target.start(env.signal);
      return promote();
    });
    const [promoted, systemIdentifier, replayLsn] = answer.split('|');
    if (promoted !== 't') throw new Error('The target did not finish its promotion within 60 s');
    return { systemIdentifier, replayLsn };
  }

  async isCutOver(env: StrategyEnv) {
    const { target } = this.clusters(env);
    if ((await target.status(env.signal)) !== 'running') return false;
    return (await target.query('SELECT pg_is_in_recovery()', env.signal)) === 'f';
  }

  async healthy(env: StrategyEnv) {
    const { target } = this.clusters(env);
    // txid_current() assigns a transaction id: only a writable primary answers.
    const result = await target.query('SELECT NOT pg_is_in_recovery(), txid_current() > 0', env.signal).catch(() => '');
    return result === 't|t';
  }

  /**
   * Before the cut-over a stopped source can only have been stopped for this migration (preflight found it
   * running), so the rollback starts it. It does not rely on the step's checkpoint: a compensation in the
   * same run as the step may not see the checkpoint the step saved.
   */
  async undoFinalSync(env: StrategyEnv) {
    const { source } = this.clusters(env);
    if ((await source.status(env.signal)) === 'stopped') {
      await env.log('Restarting the source database');
      await source.start(env.signal);
    }
  }

  /**
   * Fences the target. A target the verify step promoted (rolled back before the cut-over, so no client
   * ever reached it) is discarded: it holds nothing the source does not, and as a standby it could never
   * follow the source again.
   */
  async undoInitialSync(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    if ((await target.status(env.signal)) === 'running') await target.stop('fast', env.signal);
    if ((await this.targetState(env)) === 'promoted') {
      await env.target.run(['rm', '-rf', '--', target.pg.dataDir], { signal: env.signal });
      await env.log('Discarded the promoted copy on the target (no client reached it)');
    }
    try {
      await this.dropSlot(source, slotName(env.jobId), env);
    } catch (error) {
      // The source must keep serving; a leftover slot retains WAL, so it is reported loudly.
      await env.log(`Could not drop the replication slot on the source: ${(error as Error).message}`, {
        slot: slotName(env.jobId),
      });
    }
  }

  /**
   * The connection the base backup and the standby will open, tried from the target now: a source whose
   * pg_hba.conf lets only loopback replicate would otherwise fail the job after the migration started.
   */
  private async checkReplicationConnection(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const result = await env.target.run(
      asUser(env.params.target, target.pg.osUser, [
        posix.join(target.pg.bin, 'psql'),
        '-X', '-A', '-t', '-q',
        '-h', source.pg.address,
        '-p', String(source.pg.port),
        '-U', env.params.replicationUser,
        '--no-password',
        '-d', 'replication=true',
        '-c', 'IDENTIFY_SYSTEM',
      ]),
      { signal: env.signal, check: false },
    );
    if (result.exitCode !== 0) {
      const reason = result.stderr.trim().split('\n').slice(-2).join(' ');
      throw new PermanentJobError(
        `The target cannot open a replication connection to the source database at ${source.pg.address}:${source.pg.port} ` +
          `as ${env.params.replicationUser} (allow it in the source's pg_hba.conf): ${reason}`,
      );
    }
  }

  /** What the target's data directory holds: nothing, a standby, or a cluster that left recovery. */
  private async targetState(env: StrategyEnv): Promise<'empty' | 'standby' | 'promoted'> {
    const dataDir = this.clusters(env).target.pg.dataDir;
    const probe = (file: string) => env.target.run(['test', '-e', posix.join(dataDir, file)], { signal: env.signal, check: false });
    const [cluster, standby] = await Promise.all([probe('PG_VERSION'), probe('standby.signal')]);
    if (cluster.exitCode !== 0) return 'empty';
    return standby.exitCode === 0 ? 'standby' : 'promoted';
  }

  private async emptyTargetDataDir(env: StrategyEnv, target: PostgresOnHost) {
    const dataDir = target.pg.dataDir;
    await env.target.run(['rm', '-rf', '--', dataDir], { signal: env.signal });
    const mkdir =
      env.params.target.username === target.pg.osUser
        ? ['install', '-d', '-m', '0700', '--', dataDir]
        : ['install', '-d', '-m', '0700', '-o', target.pg.osUser, '--', dataDir];
    await env.target.run(mkdir, { signal: env.signal });
  }

  private async dropSlot(source: PostgresOnHost, slot: string, env: StrategyEnv) {
    if ((await source.status(env.signal)) !== 'running') return;
    await this.waitUntil(
      env,
      async () =>
        (await source.query(`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}' AND active`, env.signal)) === '0',
      `slot ${slot} to become inactive`,
    );
    await source.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}'`,
      env.signal,
    );
  }

  private async lagBytes(env: StrategyEnv): Promise<number> {
    const { source, target } = this.clusters(env);
    const replay = assertLsn(await target.query('SELECT pg_last_wal_replay_lsn()', env.signal), 'replay LSN');
    return Number(await source.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${replay}')`, env.signal));
  }

  private async sourceShutdownCheckpoint(env: StrategyEnv, source: PostgresOnHost): Promise<string> {
    return shutdownCheckpoint(await source.controlData(env.signal));
  }

  private async replayedPast(target: PostgresOnHost, lsn: string, env: StrategyEnv): Promise<boolean> {
    const answer = await target.query(`SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '${lsn}') >= 0`, env.signal);
    return answer === 't';
  }

  /** Checks at once, then again after 5 ms, 10 ms, … up to every 100 ms. */
  private async waitUntil(env: StrategyEnv, condition: () => Promise<boolean>, what: string) {
    const deadline = env.now() + REPLAY_WAIT_MS;
    let pause = FIRST_POLL_MS;
    while (!(await condition())) {
      if (env.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await env.sleep(pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }
}

/** The source's last checkpoint from its control file, which must say it was shut down cleanly. */
function shutdownCheckpoint(fields: Record<string, string>): string {
  if (fields['Database cluster state'] !== 'shut down') {
    throw new Error(`The source database is not cleanly shut down (${fields['Database cluster state']})`);
  }
  return assertLsn(fields['Latest checkpoint location'], 'checkpoint LSN');
}

const PROMOTE_AND_WAIT = `DO $$
BEGIN
  IF pg_is_in_recovery() THEN
    PERFORM pg_promote(false);
    FOR attempt IN 1..30000 LOOP
      EXIT WHEN NOT pg_is_in_recovery();
      PERFORM pg_sleep(0.002);
    END LOOP;
  END IF;
END $$;
SELECT NOT pg_is_in_recovery(), system_identifier, pg_last_wal_replay_lsn() FROM pg_control_system();`;

