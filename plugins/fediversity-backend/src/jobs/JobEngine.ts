import { LoggerService } from '@backstage/backend-plugin-api';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Clock, systemClock } from './clock';
import { JobRun } from './JobRun';
import { JobStore } from './JobStore';
import { JobRecord } from './records';
import { Redactor } from './redaction';
import { JobKindRegistry } from './registry';

export interface JobEngineOptions {
  store: JobStore;
  kinds: JobKindRegistry;
  logger: LoggerService;
  clock?: Clock;
  redactor?: Redactor;
  /** Names this worker in leases and events; unique per process. */
  owner?: string;
  /** Jobs run at once by this instance. */
  concurrency?: number;
  /** A job whose worker stops heartbeating is taken over this long after its last heartbeat. */
  leaseMs?: number;
  heartbeatMs?: number;
  random?: () => number;
}

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_HEARTBEAT_MS = 10_000;

/**
 * One backend instance's worker: claims runnable jobs up to its concurrency and runs them. It has no
 * timer of its own: the plugin's scheduler task calls tick() every few seconds, creating a job calls
 * wake(), and each finished job claims the next. Several engines (instances) share one database safely
 * because claims are compare-and-set and every write is fenced by the lease token.
 */
export class JobEngine {
  readonly owner: string;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly redactor: Redactor;
  private readonly runs = new Map<string, { run: JobRun; done: Promise<void> }>();
  private ticking?: Promise<void>;
  private tickAgain = false;
  private stopping = false;

  constructor(private readonly options: JobEngineOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.clock = options.clock ?? systemClock;
    this.concurrency = options.concurrency ?? 4;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.redactor = options.redactor ?? new Redactor();
    if (this.heartbeatMs * 2 > this.leaseMs) {
      throw new Error('The job lease must last at least two heartbeats');
    }
  }

  /** Claims jobs until this instance is at its concurrency or nothing is runnable. Calls coalesce. */
  tick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.tickAgain = false;
        await this.fillSlots();
      } while (this.tickAgain && !this.stopping);
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** A tick without waiting for it (after a job was created or approved). */
  wake(): void {
    this.tick().catch(error => this.options.logger.error(`Job claim failed: ${String(error)}`));
  }

  /** If this instance runs the job, checks for its cancellation now rather than at the next heartbeat. */
  async checkCancellation(jobId: string): Promise<void> {
    await this.runs.get(jobId)?.run.checkNow();
  }

  /** For tests: ticks and waits until no job is running here and none is runnable at the clock's time. */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      await this.tick();
      if (this.runs.size === 0) return;
      await Promise.all([...this.runs.values()].map(entry => entry.done));
    }
  }

  /** Stops claiming and hands running jobs back to the queue for another instance. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const { run } of this.runs.values()) run.stop();
    await Promise.all([...this.runs.values()].map(entry => entry.done));
    await this.ticking;
  }

  private async fillSlots(): Promise<void> {
    while (!this.stopping && this.runs.size < this.concurrency) {
      const job = await this.options.store.claimNext({
        owner: this.owner,
        now: this.clock.now(),
        leaseMs: this.leaseMs,
        lockKeysOf: claimed => this.lockKeysOf(claimed),
      });
      if (!job) return;
      this.start(job);
    }
  }

  private start(job: JobRecord) {
    const run = new JobRun(
      {
        store: this.options.store,
        clock: this.clock,
        logger: this.options.logger,
        redactor: this.redactor,
        leaseMs: this.leaseMs,
        heartbeatMs: this.heartbeatMs,
        random: this.options.random ?? Math.random,
      },
      job,
      this.options.kinds.get(job.kind),
    );
    const done = run
      .run()
      .catch(error => this.options.logger.error(`Job ${job.id} run failed: ${String(error)}`))
      .finally(() => {
        this.runs.delete(job.id);
        if (!this.stopping) this.wake();
      });
    this.runs.set(job.id, { run, done });
  }

  private lockKeysOf(job: JobRecord): string[] {
    const kind = this.options.kinds.get(job.kind);
    if (kind?.locks) return kind.locks({ entityRef: job.entityRef, params: job.params });
    return [`entity:${job.entityRef}`];
  }
}
