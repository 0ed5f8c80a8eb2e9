import { posix } from 'node:path';
import { libpqEnvironment, libpqSettings, sshArgv } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { assertLsn, CHECKPOINT_SETTING, LSN, lsnPosition, PostgresOnHost, postgresClusters, slotName, SwitchoverResult } from './postgres';
import { ReplicationPassfile } from './replicationPassfile';
import { checkConfigurationFiles, restoreDataDirectoryLinks } from './sourceConfiguration';
import { checkSourceConnection } from './sourceConnection';
import { ensurePeerTrust, peerOf, PEER_CIPHERS, throughControlConnection } from './rsync';
import { appCommands, settleSeconds } from './appCommands';
import { CatchUpRound, MigrationStrategy, QUIESCE_COMMAND, StrategyEnv } from './strategy';

/** How long the final sync waits for the standby to replay the old primary's shutdown checkpoint. */
const REPLAY_WAIT_MS = 60_000;
/** How long the guarded promotion waits for the standby to take its request, at 1 ms per round (promotionSql). */
const TAKEN_WAIT_MS = 1_000;
/** While a request stays untaken (its signal spent before the standby fell asleep), it is repeated every this many rounds. */
const UNTAKEN_REQUEST_ROUNDS = 5;
/** pg_promote's signal file in the data directory; the startup process removes it when it takes the request. */
const PROMOTE_SIGNAL_FILE = 'promote';
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

/**
 * `postgresql-streaming`: the target becomes a physical standby (`pg_basebackup -R -C -S <slot>`, bytes
 * streamed host to host), lag is watched while the app runs, and the switchover is the planned one: the
 * source stops with `-m fast` (a shutdown checkpoint, streamed), and the standby promotes itself once it
 * has replayed past that checkpoint (the LSN guard), requested in the final sync; the verify waits for the
 * promotion's end. The promotion does not wait for the cut-over: until then no client reaches the
 * target (its app is stopped, DNS unchanged), so a promoted target holds nothing the source does not, and a
 * rollback discards it (undoInitialSync); meanwhile the files' final pass and verify run, and most of the
 * promotion's 0.07–0.2 s leave the window. The source cluster is only stopped and keeps its data; the slot
 * it holds is dropped on rollback or by the decommission job.
 */
export class PostgresStreamingStrategy implements MigrationStrategy {
  readonly name: string;

  constructor(dataClassName: string) {
    this.name = `postgres:${dataClassName}`;
  }

  private clusters(env: StrategyEnv) {
    return postgresClusters(env, 'postgresql-streaming');
  }

  async preflight(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    if ((await source.status(env.signal)) !== 'running') {
      throw new PermanentJobError('The source database is not running');
    }
    const [version, systemId, walLevel, walSenders, walSegmentSize] = (
      await source.query(
        `SELECT current_setting('server_version_num'), (SELECT system_identifier FROM pg_control_system()), ` +
          `current_setting('wal_level'), current_setting('max_wal_senders'), current_setting('wal_segment_size')`,
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
    await checkSourceConnection(env, { source, target }, 'replication=true');
    await checkConfigurationFiles(env, { source, target });
    if (walSegmentSize !== '1MB') {
      // Set when the cluster was created; the portal's NixOS module creates clusters with 1 MB segments.
      await env.log(
        `The source's WAL segments are ${walSegmentSize}: the switchover's promotion writes and syncs one, ` +
          'which adds to the downtime (about 45 ms for 16MB on an SSD)',
      );
    }
    return { postgres: { sourceMajor, targetMajor, systemId, walLevel, walSegmentSize, method: 'physical-streaming' } };
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
    // Written on every run: a standby restarted later (a rerun, the catch-up) connects with it again.
    const passfile = await ReplicationPassfile.of(env, target).write(source);
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
          // The copy becomes a live standby, which no manifest describes for long; making one costs the
          // source's CPU (a checksum of every file) during the initial sync. Data checksums are still verified.
          ...(this.targetMajor(env) >= 13 ? ['--no-manifest'] : []),
        ],
        env.signal,
        { environment: libpqEnvironment(libpqSettings(env.params.replicationTls, passfile)) },
      );
      const linked = await restoreDataDirectoryLinks(env, { source, target });
      if (linked.length) await env.log('Linked in the copy as on the source (a base backup skips links)', { links: linked });
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

  /**
   * While the app still serves: a checkpoint now leaves the shutdown checkpoint only what is written after
   * it, and the final sync's command starts: the source's stop waiting at its gate, with the target's psql
   * already connected through the peer SSH connection (the relay, see startSwitchover), so the window pays
   * for no session, process or connection, and the promotion goes from host to host.
   */
  async prepareWindow(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    try {
      await source.query('CHECKPOINT', env.signal);
    } catch (error) {
      // A rerun after a crash that came after a chained stop: the final sync finds the source stopped.
      if ((await source.status(env.signal)) === 'stopped') return;
      throw error;
    }
    if (!env.ready?.hasRoom('source')) return;
    await ensurePeerTrust(env);
    const relayArgv = sshArgv(peerOf(env), target.scriptArgv());
    relayArgv.splice(1, 0, '-o', `Ciphers=${PEER_CIPHERS}`, ...throughControlConnection(env.jobId));
    // The stop follows the app's own on the source, unless the app needs time to settle in between.
    const quiesceFirst = settleSeconds(env.params) === 0 ? appCommands(env.params, 'quiesce') : [];
    const switchover = source.startSwitchover('fast', { argv: relayArgv, promotionSql: promotionSql(true), quiesceFirst, tellsConnected: this.targetMajor(env) >= 13 });
    env.ready.keep(quiesceFirst.length ? QUIESCE_COMMAND : 'switchover', switchover);
  }

  /**
   * Stops the source fast and has the target promote itself once it has replayed past the source's
   * shutdown checkpoint: the LSN guard and the request are one psql script on the target, so the guard holds
   * wherever it runs. The source's stop script relays that script to the target's psql (connected before
   * the window) as soon as it knows the checkpoint: from its early reading of the control file, once it
   * says "shut down" (the checkpoint record is flushed and no WAL can follow it), else from its reading
   * after the exit. The step ends when the request is out: the promotion's end (20–40 ms of PostgreSQL's
   * own work, a new timeline) is the verify's to wait for, while the files are compared. The command runs
   * on and is kept for the verify: its reading of the control file after the exit is the verify's evidence
   * for the source, psql's last answer (the promotion's end) the target's. Without it (a rerun after a
   * crash, a relay that failed) the portal relays: psql connected on the target while the source stops.
   */
  async finalSync(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const started = env.now();
    // The quiesce step fired it and handed it on where the app's quiesce ran in it.
    const ready = env.ready?.take('switchover') ?? env.ready?.take(QUIESCE_COMMAND);
    let tellEarly!: (lsn: string) => void;
    const early = new Promise<string>(resolve => (tellEarly = resolve));
    let tellRequested!: (answer: string) => void;
    const requested = new Promise<string>(resolve => (tellRequested = resolve));
    const switchover = ready
      ? source.fireSwitchover(ready, env.signal, { onShutdownCheckpoint: tellEarly, onPromotionAnswer: tellRequested })
      : source.stopAndWait('fast', env.signal, tellEarly).then(fields => ({ fields, promotionAnswers: [] }));
    const stopped = this.stoppedCheckpoint(env, source, switchover).then(lsn => ({ lsn, stopSeconds: (env.now() - started) / 1000 }));
    const known = Promise.race([early.then(lsn => ({ lsn, readEarlySeconds: (env.now() - started) / 1000 })), stopped]);
    // Relayed: the first answer, or none once the command ended without one. Not relayed: the portal's psql.
    const answered = ready
      ? Promise.race([requested, switchover.then(() => undefined, () => undefined)])
      : target.queryWhenReady(known.then(({ lsn }) => promoteAfterSql(lsn, false)), env.signal).then(firstLine, () => undefined);
    // Both settle before anything is reported: a failed stop closes the relay's input, so nothing runs on the target.
    const [checkpoint, answer] = await Promise.all([known.then(value => value, error => ({ error })), answered]);
    if ('error' in checkpoint) throw checkpoint.error;
    const checkpointLsn = checkpoint.lsn;
    // Read early, the checkpoint is the verify's to confirm with the reading after the exit (or a reading of
    // its own, where that failed): the step does not wait for the source's processes to end.
    stopped.catch(() => undefined);
    // No answer: the relay or the session broke, or the target was not running; promoteAfter starts it if needed.
    const request = answer ? promotionState(answer, checkpointLsn, { wait: false }) : await this.promoteAfter(env, checkpointLsn, { wait: false });
    if (ready) env.ready?.keep('switchover', ready);
    const relayed = answer !== undefined && ready !== undefined;
    const timing = 'readEarlySeconds' in checkpoint ? { checkpointReadEarlySeconds: checkpoint.readEarlySeconds } : { stopSeconds: checkpoint.stopSeconds };
    return { checkpointLsn, ...timing, seconds: (env.now() - started) / 1000, startedAhead: ready ? 1 : 0, relayed, promotionRequested: true, ...request };
  }

  /** The checkpoint of a stop that ended, or of a source an earlier run of this step stopped. */
  private async stoppedCheckpoint(env: StrategyEnv, source: PostgresOnHost, switchover: Promise<SwitchoverResult>): Promise<string> {
    try {
      return shutdownCheckpoint((await switchover).fields);
    } catch (error) {
      if ((await source.status(env.signal)) !== 'stopped') throw error;
      return shutdownCheckpoint(await source.controlData(env.signal));
    }
  }

  /**
   * The source's control file (cleanly shut down, still at the final sync's checkpoint, same system
   * identifier) against the target at the end of its promotion. Both readings come from the final sync's
   * command where it still runs (the stop's pg_controldata after the exit, the relayed psql's last answer
   * at the promotion's end); otherwise (a rerun after a crash, a relay that failed) they are made now, and
   * the target is promoted under the same guard if it was not yet.
   */
  async verify(env: StrategyEnv) {
    const { source } = this.clusters(env);
    const started = env.now();
    const requested = env.finalSync?.checkpointLsn;
    // A job whose final sync predates the recorded LSN reads it from the control file first.
    const checkpointLsn = typeof requested === 'string' ? assertLsn(requested, 'checkpoint LSN') : shutdownCheckpoint(await source.controlData(env.signal));
    const ready = env.ready?.take('switchover');
    const switchover = ready ? await source.fireSwitchover(ready, env.signal, {}, { endAtPromotionEnd: true }).catch(() => undefined) : undefined;
    // The request's answer, then the promotion's end: a watch cut short is made up by asking now.
    const answers = switchover?.promotionAnswers ?? [];
    const watched = answers.length >= 2 ? answers[answers.length - 1] : undefined;
    const [fields, promoted] = await Promise.all([
      switchover?.fields ?? source.controlData(env.signal),
      watched ? promotionState(watched, checkpointLsn, { wait: true }) : this.promoteAfter(env, checkpointLsn, { wait: true }),
    ]);
    const finalCheckpoint = shutdownCheckpoint(fields);
    if (finalCheckpoint !== checkpointLsn) {
      throw new PermanentJobError(`Verification failed: the source wrote checkpoint ${finalCheckpoint} after the final sync's ${checkpointLsn}`);
    }
    const sourceId = fields['Database system identifier'];
    if (sourceId !== promoted.systemIdentifier) {
      throw new PermanentJobError(`Verification failed: system identifiers differ (${sourceId} vs ${promoted.systemIdentifier})`);
    }
    // After its promotion the replay position stays where recovery ended (it is empty only after a restart,
    // which then fails the verify: the rollback discards the copy, the safe side).
    if (!LSN.test(promoted.replayLsn) || lsnPosition(promoted.replayLsn) <= lsnPosition(checkpointLsn)) {
      throw new PermanentJobError(`Verification failed: the target has not replayed the source's last checkpoint ${checkpointLsn}`);
    }
    return { checkpointLsn, systemIdentifier: sourceId, promoted: true, watchedAhead: watched !== undefined, seconds: (env.now() - started) / 1000 };
  }

  /** The promotion, where the verify did not end it already (a job from before it did); idempotent. */
  async cutOver(env: StrategyEnv) {
    const { source } = this.clusters(env);
    await this.promoteAfter(env, shutdownCheckpoint(await source.controlData(env.signal)), { wait: true });
  }

  /**
   * One command on the target: waits (every 2 ms, at most REPLAY_WAIT_MS) until the standby has replayed
   * past the source's shutdown checkpoint (its record included), then requests the promotion, and with
   * `wait` watches for its end in the same session (`pg_promote(wait => true)` would check only every
   * 100 ms). Check-then-act: a target already promoted is left as it is. The LSN is validated before it
   * becomes SQL text.
   */
  private async promoteAfter(env: StrategyEnv, checkpointLsn: string, options: { wait: boolean }) {
    const { target } = this.clusters(env);
    const sql = promoteAfterSql(checkpointLsn, options.wait);
    const promote = () => target.query(sql, env.signal);
    const answer = await promote().catch(async error => {
      if ((await target.status(env.signal)) === 'running') throw error;
      await target.start(env.signal);
      return promote();
    });
    return promotionState(lastLine(answer), checkpointLsn, options);
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

  /** The quiesce's part: the stop chained to the app's quiesce (prepareWindow) is undone as the final sync's. */
  async undoQuiesce(env: StrategyEnv) {
    await this.undoFinalSync(env);
  }

  /**
   * Before the cut-over a stopped source can only have been stopped for this migration (preflight found it
   * running), so the rollback starts it. It does not rely on the step's checkpoint: a compensation in the
   * same run as the step may not see the checkpoint the step saved.
   */
  async undoFinalSync(env: StrategyEnv) {
    const { source } = this.clusters(env);
    if ((await this.statusOnceShutDown(env, source)) === 'stopped') {
      await env.log('Restarting the source database');
      await source.start(env.signal);
    }
  }

  /**
   * The cluster's status, once a shutdown still under way has ended: the final sync ends once the source's
   * control file says "shut down", and its processes may still be ending (the cluster counts as running
   * until they are gone, and a start would fail).
   */
  private async statusOnceShutDown(env: StrategyEnv, source: PostgresOnHost) {
    const status = await source.status(env.signal);
    if (status !== 'running' || (await source.controlData(env.signal))['Database cluster state'] !== 'shut down') return status;
    let now: Awaited<ReturnType<PostgresOnHost['status']>> = status;
    await this.waitUntil(env, async () => (now = await source.status(env.signal)) !== 'running', "the source database's shutdown to end");
    return now;
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
    await ReplicationPassfile.of(env, target).remove();
    try {
      await this.dropSlot(source, slotName(env.jobId), env);
    } catch (error) {
      // The source must keep serving; a leftover slot retains WAL, so it is reported loudly.
      await env.log(`Could not drop the replication slot on the source: ${(error as Error).message}`, {
        slot: slotName(env.jobId),
      });
    }
  }

  /** The promoted target streams from nothing: the passfile it streamed with goes. */
  async afterCutOver(env: StrategyEnv) {
    await ReplicationPassfile.of(env, this.clusters(env).target).remove();
  }

  /** The target's PostgreSQL major version, from the preflight's facts (0 where a job from before them has none). */
  private targetMajor(env: StrategyEnv): number {
    return (env.preflight as { postgres?: { targetMajor?: number } } | undefined)?.postgres?.targetMajor ?? 0;
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

/** promoteAfterSql's answer, or why the standby did not get as far as asked. Exported for tests. */
export function promotionState(answer: string, checkpointLsn: string, options: { wait: boolean }) {
  const [inRecovery, systemIdentifier, replayLsn] = answer.split('|');
  if (inRecovery !== 'f' && inRecovery !== 't') throw new Error(`Unexpected answer from the target database: ${JSON.stringify(answer)}`);
  const replayed = LSN.test(replayLsn ?? '') && lsnPosition(replayLsn) > lsnPosition(checkpointLsn);
  if (inRecovery === 't' && !replayed) {
    throw new Error(
      `The standby did not replay the source's shutdown checkpoint ${checkpointLsn} within ${REPLAY_WAIT_MS / 1000} s (at ${replayLsn || 'nothing'})`,
    );
  }
  if (inRecovery === 't' && options.wait) throw new Error(`The target did not finish its promotion within ${REPLAY_WAIT_MS / 1000} s`);
  return { systemIdentifier, replayLsn };
}

/**
 * See promoteAfter. Answers `in recovery|system identifier|replay LSN` once the request is out (or the
 * guard gave up) and, with `wait`, a second such line at the promotion's end: psql prints each statement's
 * result as it ends. The loops' bound is REPLAY_WAIT_MS at 2 ms per round, for the guard and the
 * promotion each; the watch runs only where the guard passed (the replay position only moves forward).
 * The checkpoint is the session's setting CHECKPOINT_SETTING, set before this SQL runs (promoteAfterSql,
 * or the stop's relay): the SQL itself is a constant.
 *
 * Once the standby has taken the request (its startup process removes the signal file as it does) and is
 * still in recovery, it is asked once more, at once. PostgreSQL 15 takes a request that comes while its
 * WAL receiver is being restarted (the source's last WAL just in, the stream ended) and then sleeps
 * wal_retrieve_retry_interval (5 s) before it acts on it; only another request's signal wakes that sleep
 * (the standby's log showed 7–13 ms lost when that came from the watch's next round). A request that
 * stays untaken is repeated every UNTAKEN_REQUEST_ROUNDS ms: its signal can come while the startup process
 * waits for that WAL receiver and be spent there (the wait's latch is reset), after which the standby
 * checks for a request only once it has slept out the same interval (a bench run under `perf` lost
 * 2.09 s so, until the watch asked again). A request is a small file and a signal; one more where the
 * first was enough is ignored. The watch still asks again now and then, for a request taken later than
 * TAKEN_WAIT_MS. Reading the signal file needs the rights pg_promote needs (superuser by default); without
 * them the session skips this second request.
 * Exported for tests.
 */
export function promotionSql(wait: boolean): string {
  const rounds = REPLAY_WAIT_MS / 2;
  const passed = `pg_last_wal_replay_lsn() > current_setting('${CHECKPOINT_SETTING}')::pg_lsn`;
  const state = 'SELECT pg_is_in_recovery(), system_identifier, pg_last_wal_replay_lsn() FROM pg_control_system();';
  const request = `DO $$
BEGIN
  FOR attempt IN 1..${rounds} LOOP
    EXIT WHEN NOT pg_is_in_recovery() OR ${passed};
    PERFORM pg_sleep(0.002);
  END LOOP;
  IF pg_is_in_recovery() AND ${passed} THEN
    PERFORM pg_promote(false);
    BEGIN
      FOR attempt IN 1..${TAKEN_WAIT_MS} LOOP
        EXIT WHEN NOT pg_is_in_recovery();
        IF (pg_stat_file('${PROMOTE_SIGNAL_FILE}', true)).size IS NULL THEN
          PERFORM pg_promote(false);
          EXIT;
        END IF;
        IF attempt % ${UNTAKEN_REQUEST_ROUNDS} = 0 THEN
          PERFORM pg_promote(false);
        END IF;
        PERFORM pg_sleep(0.001);
      END LOOP;
    EXCEPTION WHEN OTHERS THEN
      NULL; -- promoted in between, or not allowed to read the signal file
    END;
  END IF;
END $$;
${state}`;
  if (!wait) return request;
  return `${request}
DO $$
BEGIN
  IF pg_is_in_recovery() AND ${passed} THEN
    FOR attempt IN 1..${rounds} LOOP
      EXIT WHEN NOT pg_is_in_recovery();
      PERFORM pg_sleep(0.002);
      IF attempt % 5 = 0 THEN
        BEGIN
          PERFORM pg_promote(false);
        EXCEPTION WHEN OTHERS THEN
          NULL; -- promoted in between: recovery is no longer in progress
        END;
      END IF;
    END LOOP;
  END IF;
END $$;
${state}`;
}

/** promotionSql for `lsn`, set first; the LSN is validated before it becomes SQL text. Exported for tests. */
export function promoteAfterSql(lsn: string, wait: boolean): string {
  return `SET ${CHECKPOINT_SETTING} TO '${assertLsn(lsn, 'checkpoint LSN')}';\n${promotionSql(wait)}`;
}

function firstLine(output: string): string {
  return output.trim().split('\n')[0];
}

function lastLine(output: string): string {
  return output.trim().split('\n').pop() ?? '';
}
