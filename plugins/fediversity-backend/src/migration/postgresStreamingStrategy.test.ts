import { HostShell } from './hosts';
import { MigrationParams } from './params';
import { PostgresAutoStrategy } from './postgresAutoStrategy';
import { PostgresStreamingStrategy, promoteAfterSql, promotionSql, promotionState } from './postgresStreamingStrategy';
import { AT_GATE_LINE, ReadyCommands } from './readyCommands';
import { StrategyEnv } from './strategy';
import { testStrategyEnv } from '../testing/strategyEnv';

describe('the guarded promotion', () => {
  it('promotes only past the checkpoint record, and only the LSN it was given becomes SQL', () => {
    // The checkpoint is a session setting, set first (by promoteAfterSql or the stop's relay): the rest is constant.
    const guard = "pg_last_wal_replay_lsn() > current_setting('fediversity.checkpoint_lsn')::pg_lsn";
    const sql = promoteAfterSql('0/D00DF10', false);
    expect(sql).toBe(`SET fediversity.checkpoint_lsn TO '0/D00DF10';\n${promotionSql(false)}`);
    expect(promotionSql(false)).toContain(guard);
    expect(promotionSql(false)).not.toContain('0/D00DF10');
    const escaped = guard.replace(/[()'.:>]/g, match => `\\${match}`);
    expect(sql).toMatch(new RegExp(`IF pg_is_in_recovery\\(\\) AND ${escaped} THEN\\s+PERFORM pg_promote\\(false\\);\\s+BEGIN`));
    // Once the standby has taken the request (the signal file gone) and is still in recovery, it asks once more.
    expect(sql).toMatch(/IF \(pg_stat_file\('promote', true\)\)\.size IS NULL THEN\s+PERFORM pg_promote\(false\);\s+EXIT;/);
    // Untaken, it asks again every fifth round: the first signal may have been spent.
    expect(sql).toMatch(/EXIT;\s+END IF;\s+IF attempt % 5 = 0 THEN\s+PERFORM pg_promote\(false\);\s+END IF;\s+PERFORM pg_sleep\(0\.001\);/);
    const state = 'SELECT pg_is_in_recovery(), system_identifier, pg_last_wal_replay_lsn() FROM pg_control_system();';
    expect(sql.trim().endsWith(state)).toBe(true);
    // With `wait` the same session answers once the request is out, then watches for the end of the
    // promotion (only where the guard passed) and answers again.
    const waiting = promoteAfterSql('0/D00DF10', true);
    expect(waiting.startsWith(sql)).toBe(true);
    expect(waiting.slice(sql.length)).toMatch(
      new RegExp(`^\\s+DO \\$\\$\\s+BEGIN\\s+IF pg_is_in_recovery\\(\\) AND ${escaped} THEN\\s+FOR attempt IN 1\\.\\.\\d+ LOOP\\s+EXIT WHEN NOT pg_is_in_recovery\\(\\);`),
    );
    expect(waiting.trim().endsWith(state)).toBe(true);
    // While it waits it asks again every fifth round (a request taken late), and a promotion that
    // completes in between does not fail the command.
    expect(waiting.slice(sql.length)).toMatch(
      /PERFORM pg_sleep\(0\.002\);\s+IF attempt % 5 = 0 THEN\s+BEGIN\s+PERFORM pg_promote\(false\);\s+EXCEPTION WHEN OTHERS THEN/,
    );
    for (const lsn of ["0/1'::pg_lsn; DROP TABLE x; --", '', '0/1 OR true']) expect(() => promoteAfterSql(lsn, false)).toThrow(/Unexpected checkpoint LSN/);
  });

  it('reads the answer: requested, done, or why not', () => {
    expect(promotionState('t|7712|0/D00DF88', '0/D00DF10', { wait: false })).toEqual({ systemIdentifier: '7712', replayLsn: '0/D00DF88' });
    expect(promotionState('f|7712|0/D00DF88', '0/D00DF10', { wait: true })).toEqual({ systemIdentifier: '7712', replayLsn: '0/D00DF88' });
    // Replayed up to the checkpoint record's start only: the record itself is missing, no promotion.
    expect(() => promotionState('t|7712|0/D00DF10', '0/D00DF10', { wait: false })).toThrow(/did not replay the source's shutdown checkpoint 0\/D00DF10/);
    expect(() => promotionState('t|7712|', '0/D00DF10', { wait: false })).toThrow(/at nothing/);
    expect(() => promotionState('t|7712|0/D00DF88', '0/D00DF10', { wait: true })).toThrow(/did not finish its promotion/);
    expect(() => promotionState('', '0/D00DF10', { wait: true })).toThrow(/Unexpected answer/);
  });
});

describe('the rollback of a final sync', () => {
  /** A source whose postmaster is still ending a fast shutdown (control file: shut down) for `runningRounds` status checks. */
  function shuttingDownSource(runningRounds: number) {
    const argvs: string[][] = [];
    let statusChecks = 0;
    const host: HostShell = {
      role: 'source',
      run: async argv => {
        argvs.push([...argv]);
        const program = argv.find(word => word.startsWith('/usr/lib/postgresql/'));
        if (program?.endsWith('pg_ctl') && argv.includes('status')) {
          statusChecks++;
          return { exitCode: statusChecks <= runningRounds ? 0 : 3, stdout: '', stderr: '' };
        }
        if (program?.endsWith('pg_controldata')) return { exitCode: 0, stdout: 'Database cluster state:               shut down\n', stderr: '' };
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    };
    return { host, argvs };
  }

  function envFor(source: HostShell): StrategyEnv {
    const postgres = { bin: '/usr/lib/postgresql/15/bin', dataDir: '/var/lib/postgresql/15/main', port: 5432, socketDir: '/run/postgresql', osUser: 'postgres', address: '192.0.2.10' };
    const host = { host: '192.0.2.10', port: 22, username: 'postgres', pathPrefix: '/', postgres };
    return testStrategyEnv({ jobId: 'rollback-test', params: { source: host, target: { ...host, host: '192.0.2.20' } } as unknown as MigrationParams, source });
  }

  const starts = (argvs: string[][]) => argvs.filter(argv => argv.includes('start'));

  it('waits for a shutdown the final sync left under way, then starts the source again', async () => {
    const { host, argvs } = shuttingDownSource(3);
    await new PostgresStreamingStrategy('database').undoFinalSync(envFor(host));
    expect(starts(argvs)).toHaveLength(1);
  });

  it('undoes a stop chained to the quiesce the same way, with the source alone (as a quiesce\'s compensation connects it)', async () => {
    const { host, argvs } = shuttingDownSource(1);
    // No preflight facts and a target that cannot be reached: the method is not asked for.
    const env = { ...envFor(host), target: { role: 'target' as const, run: () => Promise.reject(new Error('The target host is not used in this step')) } };
    await new PostgresAutoStrategy('database').undoQuiesce(env);
    expect(starts(argvs)).toHaveLength(1);
  });

  it('leaves a source that runs (not shutting down) as it is', async () => {
    const { host, argvs } = shuttingDownSource(Infinity);
    host.run = (original => async (argv, options) => {
      const result = await original(argv, options);
      return argv.some(word => word.endsWith('pg_controldata')) ? { ...result, stdout: 'Database cluster state:               in production\n' } : result;
    })(host.run);
    await new PostgresStreamingStrategy('database').undoFinalSync(envFor(host));
    expect(starts(argvs)).toHaveLength(0);
  });
});

const APP_WITHOUT_COMMANDS = { name: 'app', dataClasses: [] as Array<Record<string, unknown>> };

describe('the switchover across the final sync and the verify', () => {
  const CONTROL_DATA = 'Database cluster state:               shut down\nLatest checkpoint location:           0/D00DF10\nDatabase system identifier:           7712\n';

  function deferred() {
    let resolve!: () => void;
    const promise = new Promise<void>(done => (resolve = done));
    return { promise, resolve };
  }

  /**
   * A source whose switchover (the stop with its relay to the target's psql) prints its early reading at
   * once, relays, answers for the request, then for the promotion's end when `promotionEnds` resolves, and
   * ends when `exit` resolves too; `relayFails` makes it a relay whose ssh failed (no answer). A target
   * that answers the portal's own guarded promotion (psql -c) once for the request, again at the end.
   */
  function hosts(options: { relayFails?: boolean } = {}) {
    const exit = deferred();
    const promotionEnds = deferred();
    const runs: Array<{ role: string; argv: string[] }> = [];
    const scripts: string[] = [];
    const source: HostShell = {
      role: 'source',
      run: async (argv, runOptions) => {
        runs.push({ role: 'source', argv: [...argv] });
        if (argv.some(word => word.includes('relay_promotion'))) {
          if ((await runOptions?.stdin) !== 'go\n') return { exitCode: 125, stdout: '', stderr: '' };
          let stdout = 'shutdown checkpoint 0/D00DF10\n';
          runOptions?.onStdout?.(stdout);
          if (!options.relayFails) {
            stdout += 'promotion t|7712|0/D00DF88\n';
            runOptions?.onStdout?.('promotion t|7712|0/D00DF88\n');
            await promotionEnds.promise;
            stdout += 'promotion f|7712|0/D00DF88\n';
          }
          await exit.promise;
          return { exitCode: 0, stdout: `${stdout}${CONTROL_DATA}`, stderr: options.relayFails ? 'Host key verification failed.\n' : '' };
        }
        if (argv.some(word => word.endsWith('pg_controldata'))) return { exitCode: 0, stdout: CONTROL_DATA, stderr: '' };
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    };
    const target: HostShell = {
      role: 'target',
      run: async (argv, runOptions) => {
        runs.push({ role: 'target', argv: [...argv] });
        const script = argv.includes('-c') ? argv[argv.indexOf('-c') + 1] : await runOptions?.stdin;
        if (!script) return { exitCode: 0, stdout: '', stderr: '' };
        scripts.push(script);
        // Only the waiting script answers twice (the request, then the promotion's end).
        const answers = script.split('FROM pg_control_system();').length - 1;
        if (answers === 1) return { exitCode: 0, stdout: 't|7712|0/D00DF88\n', stderr: '' };
        await promotionEnds.promise;
        return { exitCode: 0, stdout: 't|7712|0/D00DF88\nf|7712|0/D00DF88\n', stderr: '' };
      },
    };
    return { source, target, exit, promotionEnds, runs, scripts };
  }

  function envFor(host: ReturnType<typeof hosts>, ready: ReadyCommands, finalSync?: Record<string, unknown>, app = APP_WITHOUT_COMMANDS): StrategyEnv {
    const postgres = { bin: '/usr/lib/postgresql/15/bin', dataDir: '/var/lib/postgresql/15/main', port: 5432, socketDir: '/run/postgresql', osUser: 'postgres', address: '192.0.2.10' };
    const params = {
      app,
      source: { host: '192.0.2.10', port: 22, username: 'root', pathPrefix: '/', postgres },
      target: { host: '192.0.2.20', port: 22, username: 'root', pathPrefix: '/', postgres, hostPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB' },
      peer: { identityFile: '/root/.ssh/fediversity_peer' },
    };
    return testStrategyEnv({
      jobId: 'switchover-test',
      params: params as unknown as MigrationParams,
      source: host.source,
      target: host.target,
      ready: ready.forStrategy('switchover-test', 'postgres:database'),
      finalSync,
    });
  }

  const settledWithin = async (promise: Promise<unknown>, ms: number) =>
    Promise.race([promise.then(() => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), ms))]);

  it('readies one command on the source: the stop, with the target\'s psql relayed through the peer SSH connection', async () => {
    const host = hosts();
    await new PostgresStreamingStrategy('database').prepareWindow(envFor(host, new ReadyCommands()));
    const switchover = host.runs.find(run => run.argv.some(word => word.includes('relay_promotion')))!.argv;
    // bash -c <script> bash <psql's first line> <SQL> <relay's word count> <relay…> <stop…>
    expect(switchover[4]).toBe('');
    expect(switchover[5]).toBe(promotionSql(true));
    const relay = switchover.slice(7, 7 + Number(switchover[6]));
    expect(relay).toEqual(expect.arrayContaining(['ssh', '-o', 'StrictHostKeyChecking=yes', '-i', '/root/.ssh/fediversity_peer', '-o', 'ControlMaster=no', '192.0.2.20']));
    expect(relay[relay.length - 1]).toMatch(/^runuser -u postgres -- env -C \/ \/usr\/lib\/postgresql\/15\/bin\/psql .* -f -$/);
    expect(switchover.slice(7 + Number(switchover[6]))).toEqual(expect.arrayContaining(['runuser', '-u', 'postgres', '--', 'env', '-C', '/', 'bash']));
    // Nothing on the target: the relay's psql is the source's child.
    expect(host.runs.filter(run => run.role === 'target')).toEqual([]);
  });

  it('has a psql that can (PostgreSQL ≥ 13) say on stderr when it is connected, so the command counts as waiting only then', async () => {
    const greetingFor = async (targetMajor: number) => {
      const host = hosts();
      await new PostgresStreamingStrategy('database').prepareWindow({ ...envFor(host, new ReadyCommands()), preflight: { postgres: { targetMajor } } });
      return host.runs.find(run => run.argv.some(word => word.includes('relay_promotion')))!.argv[4];
    };
    expect(await greetingFor(15)).toBe(`\\warn ${AT_GATE_LINE}`);
    expect(await greetingFor(12)).toBe('');
  });

  it('runs the app\'s quiesce commands in the same command, first, unless the app needs time to settle after them', async () => {
    const quiesce = [['systemctl', 'stop', 'app'], ['systemctl', 'stop', 'worker']];
    const switchoverOf = async (dataClass: Record<string, unknown>) => {
      const host = hosts();
      const ready = new ReadyCommands();
      await new PostgresStreamingStrategy('database').prepareWindow(envFor(host, ready, undefined, { name: 'app', dataClasses: [dataClass] }));
      const argv = host.runs.find(run => run.argv.some(word => word.includes('relay_promotion')))!.argv;
      return { argv, ready };
    };
    const chained = await switchoverOf({ name: 'db', quiesce });
    // …, the stop's words, then each command as its word count and its words.
    expect(chained.argv.slice(-8)).toEqual(['3', 'systemctl', 'stop', 'app', '3', 'systemctl', 'stop', 'worker']);
    // Kept for the quiesce step to fire (strategy.ts, QUIESCE_COMMAND), not for the final sync.
    expect(chained.ready.take('switchover-test', 'postgres:database:quiesce')).toBeDefined();
    expect(chained.ready.take('switchover-test', 'postgres:database:switchover')).toBeUndefined();
    const settling = await switchoverOf({ name: 'db', quiesce, settleSeconds: 5 });
    expect(settling.argv).not.toContain('worker');
    expect(settling.ready.take('switchover-test', 'postgres:database:switchover')).toBeDefined();
  });

  it('ends the final sync once the relayed promotion is requested; the verify takes the command and waits for the promotion and the exit', async () => {
    const host = hosts();
    const ready = new ReadyCommands();
    const strategy = new PostgresStreamingStrategy('database');
    await strategy.prepareWindow(envFor(host, ready));

    const finalSync = await strategy.finalSync(envFor(host, ready));
    expect(finalSync).toMatchObject({ checkpointLsn: '0/D00DF10', promotionRequested: true, relayed: true, systemIdentifier: '7712', replayLsn: '0/D00DF88', startedAhead: 1 });
    // The portal sent the target nothing.
    expect(host.scripts).toEqual([]);

    const runsBefore = host.runs.length;
    const verifying = strategy.verify(envFor(host, ready, finalSync));
    expect(await settledWithin(verifying, 50)).toBe(false);
    host.promotionEnds.resolve();
    expect(await settledWithin(verifying, 50)).toBe(false);
    host.exit.resolve();
    expect(await verifying).toMatchObject({ checkpointLsn: '0/D00DF10', systemIdentifier: '7712', promoted: true, watchedAhead: true });
    // Nothing ran afresh: the control file's reading and the promotion's end were the final sync's command's.
    expect(host.runs.length).toBe(runsBefore);
  });

  it('promotes through the portal, under the same guard, where the relay failed', async () => {
    const host = hosts({ relayFails: true });
    const ready = new ReadyCommands();
    const strategy = new PostgresStreamingStrategy('database');
    await strategy.prepareWindow(envFor(host, ready));
    const finalSyncing = strategy.finalSync(envFor(host, ready));
    // No answer until the command ends: then the portal asks the target itself.
    expect(await settledWithin(finalSyncing, 50)).toBe(false);
    host.exit.resolve();
    const finalSync = await finalSyncing;
    expect(finalSync).toMatchObject({ checkpointLsn: '0/D00DF10', promotionRequested: true, relayed: false });
    expect(host.scripts).toEqual([promoteAfterSql('0/D00DF10', false)]);
    host.promotionEnds.resolve();
    expect(await strategy.verify(envFor(host, ready, finalSync))).toMatchObject({ promoted: true, watchedAhead: false });
    expect(host.scripts).toEqual([promoteAfterSql('0/D00DF10', false), promoteAfterSql('0/D00DF10', true)]);
  });

  it('after a crash (no command kept) reads the control file and has the target promoted under the guard, waiting for the end', async () => {
    const host = hosts();
    host.exit.resolve();
    host.promotionEnds.resolve();
    const strategy = new PostgresStreamingStrategy('database');
    const finalSync = { checkpointLsn: '0/D00DF10', promotionRequested: true, systemIdentifier: '7712', replayLsn: '0/D00DF88' };
    expect(await strategy.verify(envFor(host, new ReadyCommands(), finalSync))).toMatchObject({ promoted: true, watchedAhead: false });
    expect(host.runs.filter(run => run.role === 'source').map(run => run.argv.find(word => word.endsWith('pg_controldata')))).toEqual([
      '/usr/lib/postgresql/15/bin/pg_controldata',
    ]);
    expect(host.scripts).toEqual([promoteAfterSql('0/D00DF10', true)]);
  });
});
