import knexFactory, { Knex } from 'knex';

/** One pooled connection: each sample's queries go over the same session, as an app's would. */
function connect(url: string): Knex {
  return knexFactory({ client: 'pg', connection: url, pool: { min: 1, max: 1 } });
}

export interface LagMeasurement {
  samples: number[];
  p50: number;
  p99: number;
  max: number;
  /** Transactions per second the background writers committed meanwhile. */
  writeTps: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Commit → visible on the standby, in ms, `samples` times, while `writers` connections insert rows as fast as
 * they can. Each sample commits a marker row on the primary and polls the standby for it (1 ms apart).
 */
export async function measureCommitToStandbyLag(options: {
  primaryUrl: string;
  standbyUrl: string;
  samples: number;
  writers: number;
  timeoutMs?: number;
}): Promise<LagMeasurement> {
  const primary = connect(options.primaryUrl);
  const standby = connect(options.standbyUrl);
  const writers: Knex[] = [];
  let stop = false;
  let writes = 0;
  try {
    await primary.raw('CREATE TABLE IF NOT EXISTS lag_markers (id bigint PRIMARY KEY, at timestamptz DEFAULT now())');
    await primary.raw('CREATE TABLE IF NOT EXISTS lag_load (id bigserial PRIMARY KEY, payload text)');
    await waitFor(standby, "SELECT to_regclass('lag_markers') IS NOT NULL AS ok", options.timeoutMs ?? 30_000);
    for (let i = 0; i < options.writers; i++) {
      writers.push(connect(options.primaryUrl));
    }
    const load = writers.map(async writer => {
      while (!stop) {
        await writer.raw("INSERT INTO lag_load (payload) VALUES (repeat('x', 200))");
        writes++;
      }
    });
    const loadStarted = Date.now();
    const base = Date.now() * 1000;
    const samples: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      const id = base + i;
      await primary.raw('INSERT INTO lag_markers (id) VALUES (?)', [id]);
      const committed = performance.now();
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      for (;;) {
        const { rows } = await standby.raw('SELECT 1 FROM lag_markers WHERE id = ?', [id]);
        if (rows.length) break;
        if (Date.now() > deadline) throw new Error(`Marker ${id} did not reach the standby`);
        await new Promise(resolve => setTimeout(resolve, 1));
      }
      samples.push(performance.now() - committed);
    }
    stop = true;
    await Promise.all(load);
    const writeTps = writes / ((Date.now() - loadStarted) / 1000);
    const sorted = [...samples].sort((a, b) => a - b);
    return { samples, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1], writeTps };
  } finally {
    stop = true;
    for (const writer of writers) await writer.destroy().catch(() => {});
    await primary.destroy().catch(() => {});
    await standby.destroy().catch(() => {});
  }
}

async function waitFor(client: Knex, sql: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.raw(sql);
    if (rows[0]?.ok) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for: ${sql}`);
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
