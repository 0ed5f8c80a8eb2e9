/**
 * The migration benchmark's app and its first client, in a process of their own as they are in real life:
 * in the benchmark's process their timers waited behind the portal's work (the engine's steps, its SSH
 * streams), which delayed the app's stop and the first write after the cut-over by 5–25 ms in our
 * migration and not in the naive one, whose process is idle while it waits for its commands.
 *
 * The parent (bench/migration.ts) forks this file and drives it over IPC: `writer-start`, `writer-stop`
 * (answers with the acknowledged writes) and `probe-start`/`probe-stop` (answers `first-write` with the
 * time the first write on the target was acknowledged).
 */
import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { FlagDirectory } from '../../plugins/fediversity-backend/src/testing/flagDirectory';
import type { TestHost } from '../../plugins/fediversity-backend/src/testing/migrationHosts';
import { AcknowledgedWrites, AppHosts, AppWriter } from '../../plugins/fediversity-backend/src/testing/migrationFixtures';

/** A table only the benchmark writes (not one of the app's tables the runs compare). */
export const FIRST_WRITE_TABLE = 'bench_first_write';

/** What the app process needs of the hosts, as JSON. */
export type AppProcessHosts = AppHosts & { target: Pick<TestHost, 'root' | 'pg'> };

type Request = { type: 'writer-start' } | { type: 'writer-stop' } | { type: 'probe-start' } | { type: 'probe-stop' };
type Reply =
  | { type: 'writer-started' }
  | { type: 'writer-stopped'; files: Array<[string, string | null]>; rows: number[]; errors: string[] }
  | { type: 'first-write'; at: number }
  | { type: 'probe-failed'; message: string };

// pg ships no typings here (knex wraps it elsewhere); the three calls used are typed by hand.
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

/**
 * The end of a downtime, the same for both ways: the app has started on the target and a write on the
 * target's database has been acknowledged (a new connection, as a starting app opens one). Woken when the
 * app's start flag appears, then tries every 2 ms; returns the time of the acknowledgement.
 */
async function firstWriteOnTarget(hosts: AppProcessHosts, signal: AbortSignal): Promise<number> {
  const { Client } = require('pg') as { Client: new (config: Record<string, unknown>) => PgClient };
  const flags = new FlagDirectory(join(hosts.target.root, 'run/app'));
  try {
    return await writeOnceStarted(hosts, flags, Client, signal);
  } finally {
    flags.close();
  }
}

async function writeOnceStarted(
  hosts: AppProcessHosts,
  flags: FlagDirectory,
  Client: new (config: Record<string, unknown>) => PgClient,
  signal: AbortSignal,
): Promise<number> {
  while (!signal.aborted) {
    if (await flags.waitFor('started', { signal })) {
      const client = new Client({ host: hosts.target.pg.socketDir, port: hosts.target.pg.port, user: hosts.osUser, database: 'postgres' });
      try {
        await client.connect();
        await client.query(`INSERT INTO ${FIRST_WRITE_TABLE} (at) VALUES (now())`);
        return Date.now();
      } catch {
        // Not up or still read-only (a standby): the app's first write would fail too; try again.
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    await new Promise(resolve => setTimeout(resolve, 2));
  }
  throw new Error('stopped waiting for the first write on the target');
}

/** The child's side: one writer, one probe at a time. */
function serve(hosts: AppProcessHosts) {
  const reply = (message: Reply) => process.send!(message);
  let writer: AppWriter | undefined;
  let probe: AbortController | undefined;
  process.on('message', async (request: Request) => {
    if (request.type === 'writer-start') {
      writer = new AppWriter(hosts);
      await writer.start();
      reply({ type: 'writer-started' });
    } else if (request.type === 'writer-stop') {
      await writer?.stop();
      reply({ type: 'writer-stopped', files: [...(writer?.files ?? [])], rows: [...(writer?.rows ?? [])], errors: writer?.errors ?? [] });
    } else if (request.type === 'probe-start') {
      probe = new AbortController();
      firstWriteOnTarget(hosts, probe.signal).then(
        at => reply({ type: 'first-write', at }),
        error => reply({ type: 'probe-failed', message: String(error) }),
      );
    } else if (request.type === 'probe-stop') {
      probe?.abort();
    }
  });
}

/** The parent's side: the app process for `hosts`, started with the same TypeScript transform as the benchmark. */
export class AppProcess {
  private constructor(private readonly child: ChildProcess) {}

  static start(hosts: AppProcessHosts): AppProcess {
    const child = fork(__filename, [JSON.stringify(hosts)], { execArgv: ['-r', '@backstage/cli/config/nodeTransform.cjs'] });
    return new AppProcess(child);
  }

  private next<T extends Reply['type']>(...types: T[]): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the app process exited (${code})`));
      const onMessage = (message: Reply) => {
        if (!(types as string[]).includes(message.type)) return;
        this.child.off('message', onMessage).off('exit', onExit);
        resolve(message as Extract<Reply, { type: T }>);
      };
      this.child.on('message', onMessage).once('exit', onExit);
    });
  }

  async startWriter(): Promise<void> {
    const started = this.next('writer-started');
    this.child.send({ type: 'writer-start' });
    await started;
  }

  async stopWriter(): Promise<AcknowledgedWrites & { errors: string[] }> {
    const stopped = this.next('writer-stopped');
    this.child.send({ type: 'writer-stop' });
    const { files, rows, errors } = await stopped;
    return { files: new Map(files), rows: new Set(rows), errors };
  }

  /** Starts polling for the first write on the target; `stop` gives up (the promise then rejects). */
  firstWrite(): { at: Promise<number>; stop: () => void } {
    const done = this.next('first-write', 'probe-failed');
    this.child.send({ type: 'probe-start' });
    const at = done.then(message => {
      if (message.type === 'probe-failed') throw new Error(message.message);
      return message.at;
    });
    return { at, stop: () => this.child.send({ type: 'probe-stop' }) };
  }

  stop(): void {
    this.child.kill();
  }
}

if (require.main === module) serve(JSON.parse(process.argv[2]) as AppProcessHosts);
