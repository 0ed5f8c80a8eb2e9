import { promoteAfterSql, promotionState } from './postgresStreamingStrategy';

describe('the guarded promotion', () => {
  it('promotes only past the checkpoint record, and only the LSN it was given becomes SQL', () => {
    const sql = promoteAfterSql('0/D00DF10', false);
    expect(sql).toContain("pg_last_wal_replay_lsn() > '0/D00DF10'::pg_lsn");
    expect(sql).toMatch(/IF pg_is_in_recovery\(\) AND pg_last_wal_replay_lsn\(\) > '0\/D00DF10'::pg_lsn THEN\s+PERFORM pg_promote\(false\);\s+END IF;/);
    // With `wait` the same session watches for the end of the promotion.
    expect(promoteAfterSql('0/D00DF10', true)).toMatch(/pg_promote\(false\);\s+FOR attempt IN 1\.\.\d+ LOOP\s+EXIT WHEN NOT pg_is_in_recovery\(\);/);
    // While it waits it asks again now and then (a request PostgreSQL 15 can sleep on for 5 s), and a
    // promotion that completes in between does not fail the command.
    expect(promoteAfterSql('0/D00DF10', true)).toMatch(/IF attempt % \d+ = 0 THEN\s+BEGIN\s+PERFORM pg_promote\(false\);\s+EXCEPTION WHEN OTHERS THEN/);
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
