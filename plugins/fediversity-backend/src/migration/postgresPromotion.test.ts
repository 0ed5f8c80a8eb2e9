import { existsSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ensureStandby, PgCluster, queryCluster } from '../replication/postgres';
import { localRunner } from '../replication/commandRunner';
import { startTestPgPair, TestPgPair } from '../replication/__testUtils__/pgPair';
import { promoteAfterSql } from './postgresStreamingStrategy';

jest.setTimeout(120_000);

let pair: TestPgPair | string;

// A fresh pair for each test: a promoted standby cannot follow again.
beforeEach(async () => {
  pair = await startTestPgPair();
});

afterEach(async () => {
  if (typeof pair !== 'string') await pair?.stop();
});

/** The SQL through psql's input, statement by statement, as the switchover's relay hands it over. */
function psqlScript(cluster: PgCluster, sql: string) {
  const argv = [join(cluster.bin, 'psql'), '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', cluster.socketDir, '-p', String(cluster.port), '-d', 'postgres'];
  return localRunner.run(cluster.osUser ? ['runuser', '-u', cluster.osUser, '--', ...argv] : argv, { stdin: sql });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (await condition()) return true;
    await new Promise(resolve => setTimeout(resolve, 5));
  }
  return condition();
}

/** The pair's standby, streaming, with its startup process and where pg_promote leaves its request; undefined where PostgreSQL is missing. */
async function streamingStandby() {
  if (typeof pair === 'string') {
    console.warn(`Skipping: ${pair}`);
    return undefined;
  }
  const { standby, primaryEndpoint } = pair;
  await ensureStandby(standby, primaryEndpoint);
  const startup = Number(await queryCluster(standby, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'"));
  expect(startup).toBeGreaterThan(0);
  return { standby, startup, signalFile: join(standby.dataDir, 'promote') };
}

describe('the guarded promotion on a real standby', () => {
  it('asks once more as soon as the standby has taken its request and is still in recovery', async () => {
    const streaming = await streamingStandby();
    if (!streaming) return;
    const { standby, startup, signalFile } = streaming;
    // Held still, the startup process takes no request itself: the test takes the first one in its place,
    // as PostgreSQL 15 does before it can fall asleep on it (see promotionSql).
    process.kill(startup, 'SIGSTOP');
    let answer: Promise<{ stdout: string }> | undefined;
    try {
      answer = psqlScript(standby, promoteAfterSql('0/1', false));
      expect(await until(() => existsSync(signalFile), 20_000)).toBe(true);
      unlinkSync(signalFile);
      expect(await until(() => existsSync(signalFile), 5_000)).toBe(true);
      // Taken, the request is out: the answer comes at once, not after the untaken loop's second.
      let answered = false;
      void answer.then(() => (answered = true));
      expect(await until(() => answered, 500)).toBe(true);
    } finally {
      process.kill(startup, 'SIGCONT');
    }
    expect((await answer).stdout.trim()).toMatch(/^[tf]\|\d+\|[0-9A-F]+\/[0-9A-F]+$/);
    expect(await until(async () => (await queryCluster(standby, 'SELECT pg_is_in_recovery()')) === 'f', 30_000)).toBe(true);
  });

  it('asks again every few ms while its request stays untaken, its signal perhaps spent', async () => {
    const streaming = await streamingStandby();
    if (!streaming) return;
    const { standby, startup, signalFile } = streaming;
    const written = () => statSync(signalFile, { bigint: true }).mtimeNs;
    // Held still, the startup process takes nothing: the request stays, as one does whose signal the
    // standby spent on its wait for a new WAL receiver. Each new request writes the file afresh.
    process.kill(startup, 'SIGSTOP');
    let answer: Promise<{ stdout: string }> | undefined;
    try {
      answer = psqlScript(standby, promoteAfterSql('0/1', false));
      expect(await until(() => existsSync(signalFile), 20_000)).toBe(true);
      const first = written();
      expect(await until(() => written() !== first, 500)).toBe(true);
    } finally {
      process.kill(startup, 'SIGCONT');
    }
    expect((await answer).stdout.trim()).toMatch(/^[tf]\|\d+\|[0-9A-F]+\/[0-9A-F]+$/);
    expect(await until(async () => (await queryCluster(standby, 'SELECT pg_is_in_recovery()')) === 'f', 30_000)).toBe(true);
  });
});
