import { Client } from 'pg';

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
  const primary = new Client({ connectionString: options.primaryUrl });
  const standby = new Client({ connectionString: options.standbyUrl });
  await primary.connect();
  await standby.connect();
  const writers: Client[] = [];
  let stop = false;
  let writes = 0;
  try {
    await primary.query('CREATE TABLE IF NOT EXISTS lag_markers (id bigint PRIMARY KEY, at timestamptz DEFAULT now())');
    await primary.query('CREATE TABLE IF NOT EXISTS lag_load (id bigserial PRIMARY KEY, payload text)');
    await waitFor(standby, "SELECT to_regclass('lag_markers') IS NOT NULL AS ok", options.timeoutMs ?? 30_000);
    for (let i = 0; i < options.writers; i++) {
      const writer = new Client({ connectionString: options.primaryUrl });
      await writer.connect();
      writers.push(writer);
    }
    const load = writers.map(async writer => {
      while (!stop) {
        await writer.query("INSERT INTO lag_load (payload) VALUES (repeat('x', 200))");
        writes++;
      }
    });
    const loadStarted = Date.now();
    const base = Date.now() * 1000;
    const samples: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      const id = base + i;
      await primary.query('INSERT INTO lag_markers (id) VALUES ($1)', [id]);
      const committed = performance.now();
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      for (;;) {
        const { rowCount } = await standby.query('SELECT 1 FROM lag_markers WHERE id = $1', [id]);
        if (rowCount) break;
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
    for (const writer of writers) await writer.end().catch(() => {});
    await primary.end().catch(() => {});
    await standby.end().catch(() => {});
  }
}

async function waitFor(client: Client, sql: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query(sql);
    if (rows[0]?.ok) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for: ${sql}`);
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
