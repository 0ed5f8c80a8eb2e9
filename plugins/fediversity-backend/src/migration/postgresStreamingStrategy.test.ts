import { HostShell } from './hosts';
import { MigrationParams } from './params';
import { PostgresStreamingStrategy, promoteAfterSql, promotionState } from './postgresStreamingStrategy';
import { StrategyEnv } from './strategy';
import { testStrategyEnv } from '../testing/strategyEnv';

describe('the guarded promotion', () => {
  it('promotes only past the checkpoint record, and only the LSN it was given becomes SQL', () => {
    const sql = promoteAfterSql('0/D00DF10', false);
    expect(sql).toContain("pg_last_wal_replay_lsn() > '0/D00DF10'::pg_lsn");
    expect(sql).toMatch(/IF pg_is_in_recovery\(\) AND pg_last_wal_replay_lsn\(\) > '0\/D00DF10'::pg_lsn THEN\s+PERFORM pg_promote\(false\);\s+END IF;/);
    // With `wait` the same session watches for the end of the promotion.
    expect(promoteAfterSql('0/D00DF10', true)).toMatch(/pg_promote\(false\);\s+FOR attempt IN 1\.\.\d+ LOOP\s+EXIT WHEN NOT pg_is_in_recovery\(\);/);
    // While it waits it asks again every round (a request PostgreSQL 15 can sleep on for 5 s), and a
    // promotion that completes in between does not fail the command.
    expect(promoteAfterSql('0/D00DF10', true)).toMatch(/PERFORM pg_sleep\(0\.002\);\s+BEGIN\s+PERFORM pg_promote\(false\);\s+EXCEPTION WHEN OTHERS THEN/);
    expect(promoteAfterSql('0/D00DF10', false)).not.toMatch(/EXCEPTION/);
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
