import { ensureStandby, measureStandbyLag, queryCluster } from './postgres';
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
