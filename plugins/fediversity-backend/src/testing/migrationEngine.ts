import { LoggerService } from '@backstage/backend-plugin-api';
import knexFactory, { Knex } from 'knex';
import { TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import { JobEngine } from '../jobs/JobEngine';
import { JobService } from '../jobs/JobService';
import { JobStore } from '../jobs/JobStore';
import { applyMigrations } from '../jobs/migrations';
import { Redactor } from '../jobs/redaction';
import { JobKindRegistry } from '../jobs/registry';
import { systemClock } from '../jobs/clock';
import { JobKind } from '../jobs/types';
import { MIGRATION_JOB_KIND } from '../migration/migrationJobKind';

export const MIGRATION_ENTITY = 'component:default/testapp-instance';
export const OPERATOR = 'user:default/operator';

export const quietLogger: LoggerService = {
  error: message => process.stderr.write(`error: ${message}\n`),
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => quietLogger,
};

/** A job store on an SQLite file (so a child process and the test can share it) or in memory. */
export async function openJobDatabase(file?: string): Promise<Knex> {
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file ?? ':memory:' },
    useNullAsDefault: true,
    pool: file ? { min: 1, max: 1 } : { min: 1, max: 1, idleTimeoutMillis: Number.MAX_SAFE_INTEGER },
  });
  await knex.raw('PRAGMA busy_timeout = 10000');
  await applyMigrations(knex);
  return knex;
}

export interface MigrationRig {
  store: JobStore;
  service: JobService;
  engine?: JobEngine;
}

export function migrationRig(knex: Knex, kinds: JobKind<any>[], options: { engine?: boolean; leaseMs?: number; owner?: string } = {}): MigrationRig {
  const store = new JobStore(knex);
  const registry = new JobKindRegistry(kinds);
  const redactor = new Redactor();
  const leaseMs = options.leaseMs ?? 60_000;
  const engine =
    options.engine === false
      ? undefined
      : new JobEngine({ store, kinds: registry, logger: quietLogger, redactor, owner: options.owner, concurrency: 1, leaseMs, heartbeatMs: Math.floor(leaseMs / 3) });
  const service = new JobService({ store, kinds: registry, clock: systemClock, redactor });
  return { store, service, engine };
}

export async function createMigration(rig: MigrationRig, params: Record<string, unknown>): Promise<string> {
  const { job } = await rig.service.create({ kind: MIGRATION_JOB_KIND, entityRef: MIGRATION_ENTITY, params }, OPERATOR);
  return job.id;
}

/**
 * Drives a job to its end on real time: ticks the engine, approves the cut-over when asked (if `approve`),
 * and calls `onPoll` every round (fault injection). Resolves with the final status.
 */
export async function driveToEnd(
  rig: MigrationRig,
  jobId: string,
  options: { approve?: boolean; timeoutMs?: number; onPoll?: () => Promise<void> | void; stopAt?: (status: string) => boolean } = {},
): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? 240_000);
  for (;;) {
    rig.engine?.wake();
    const job = await rig.store.getJob(jobId);
    if (!job) throw new Error(`job ${jobId} vanished`);
    if ((TERMINAL_JOB_STATUSES as readonly string[]).includes(job.status)) return job.status;
    if (options.stopAt?.(job.status)) return job.status;
    await options.onPoll?.();
    if (job.status === 'awaiting_approval' && options.approve !== false) {
      await rig.service.approve(jobId, OPERATOR, { comment: 'test approves the cut-over' });
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish in time (status ${job.status})`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

export async function eventLog(rig: MigrationRig, jobId: string): Promise<string> {
  const events = await rig.store.listEvents(jobId, 0, 10_000);
  return events.map(event => `${event.level} ${event.step ?? '-'} ${event.message}${event.fields ? ` ${JSON.stringify(event.fields)}` : ''}`).join('\n');
}
