import { ConflictError, NotFoundError } from '@backstage/errors';
import { JobError, JobStatus, TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import { Knex } from 'knex';
import { APPROVAL_EXPIRED, LeaseLostError } from './errors';
import { EventRecord, JobRecord, Lease, NewEvent, StepCompletion, StepProgress, StepRecord } from './records';

const JOBS = 'fediversity_jobs';
const STEPS = 'fediversity_job_steps';
const EVENTS = 'fediversity_job_events';
const LOCKS = 'fediversity_locks';

/** Bounds on what one event may store; step output can be long (rsync, nixos-rebuild). */
const MAX_MESSAGE_CHARS = 4_000;
const MAX_FIELDS_CHARS = 16_000;
/** How many claimable jobs one claim looks at before giving up (e.g. all blocked by resource locks). */
const MAX_CLAIM_CANDIDATES = 50;

export interface NewJob {
  id: string;
  kind: string;
  entityRef: string;
  params: Record<string, unknown>;
  steps: ReadonlyArray<{ name: string }>;
  createdBy: string;
  idempotencyKey?: string;
  priority?: number;
}

export interface JobFilter {
  entityRefs?: string[];
  status?: JobStatus;
  kind?: string;
  limit?: number;
  offset?: number;
}

export type CancelOutcome = 'cancelled' | 'requested';

/** Told about a job whose events or progress changed, once the change has committed (see jobs/signals.ts). */
export type JobChangeListener = (jobId: string) => void;

/** Thrown inside a claim transaction to roll it back when a resource is held by another job. */
class ResourceBusyError extends Error {}

/**
 * All reads and writes of the job tables. Two kinds of writers:
 * - workers, which hold a lease: each of their writes runs in a transaction whose first statement is
 *   `UPDATE fediversity_jobs ... WHERE id = ? AND lease_token = ?`; zero rows means another worker took the
 *   job over, and LeaseLostError aborts the worker. That update also locks the job row (PostgreSQL), which
 *   serialises everything written about one job, including event sequence numbers;
 * - API requests (cancel, approve, retry), which change the job row with compare-and-set updates on its status.
 */
export class JobStore {
  private readonly supportsSkipLocked: boolean;

  constructor(
    private readonly db: Knex,
    private readonly onJobChanged?: JobChangeListener,
  ) {
    const client = String(db.client.config.client);
    this.supportsSkipLocked = client === 'pg' || client === 'postgres' || client === 'postgresql';
  }

  // --- API side ---------------------------------------------------------------------------------

  /** Creates a job with its steps. With an idempotency key seen before, returns that job instead. */
  async createJob(job: NewJob, now: number): Promise<{ job: JobRecord; created: boolean }> {
    if (job.idempotencyKey) {
      const existing = await this.findByIdempotencyKey(job.idempotencyKey);
      if (existing) return { job: existing, created: false };
    }
    try {
      await this.db.transaction(async trx => {
        await trx(JOBS).insert({
          id: job.id,
          kind: job.kind,
          entity_ref: job.entityRef,
          params_json: JSON.stringify(job.params),
          status: 'queued',
          priority: job.priority ?? 0,
          idempotency_key: job.idempotencyKey ?? null,
          lease_token: 0,
          next_run_at: now,
          cancel_requested: false,
          created_by: job.createdBy,
          created_at: now,
          updated_at: now,
        });
        await trx(STEPS).insert(
          job.steps.map((step, index) => ({
            job_id: job.id,
            step_index: index,
            name: step.name,
            status: 'pending',
            attempt: 0,
          })),
        );
        await this.insertEvent(trx, job.id, now, {
          message: `Job created by ${job.createdBy}`,
          fields: { kind: job.kind, entityRef: job.entityRef },
        });
      });
    } catch (error) {
      // Lost a race on the same idempotency key: the other request's job is the answer.
      const existing = job.idempotencyKey && (await this.findByIdempotencyKey(job.idempotencyKey));
      if (existing) return { job: existing, created: false };
      throw error;
    }
    return { job: (await this.getJob(job.id))!, created: true };
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const row = await this.db(JOBS).where({ id }).first();
    return row ? toJob(row) : undefined;
  }

  async getSteps(jobId: string): Promise<StepRecord[]> {
    const rows = await this.db(STEPS).where({ job_id: jobId }).orderBy('step_index');
    return rows.map(toStep);
  }

  /** Newest first. */
  async listJobs(filter: JobFilter): Promise<JobRecord[]> {
    const rows = await this.filtered(filter)
      .select('*')
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(filter.limit ?? 100)
      .offset(filter.offset ?? 0);
    return rows.map(toJob);
  }

  /** The entities that have jobs matching the filter (to authorise a listing per entity). */
  async listEntityRefs(filter: Omit<JobFilter, 'entityRefs' | 'limit' | 'offset'>): Promise<string[]> {
    const rows = await this.filtered(filter).distinct('entity_ref');
    return rows.map(row => row.entity_ref as string);
  }

  /** Steps done and total per job, for the progress of a listing. */
  async stepCounts(jobIds: string[]): Promise<Map<string, { done: number; total: number }>> {
    const counts = new Map<string, { done: number; total: number }>();
    if (!jobIds.length) return counts;
    const rows: Array<{ job_id: string; status: string; count: string | number }> = await this.db(STEPS)
      .whereIn('job_id', jobIds)
      .select('job_id', 'status')
      .count({ count: '*' })
      .groupBy('job_id', 'status');
    for (const row of rows) {
      const entry = counts.get(row.job_id as string) ?? { done: 0, total: 0 };
      entry.total += Number(row.count);
      if (row.status === 'succeeded') entry.done += Number(row.count);
      counts.set(row.job_id as string, entry);
    }
    return counts;
  }

  async listEvents(jobId: string, after: number, limit = 500): Promise<EventRecord[]> {
    const rows = await this.db(EVENTS)
      .where({ job_id: jobId })
      .andWhere('seq', '>', after)
      .orderBy('seq')
      .limit(limit);
    return rows.map(toEvent);
  }

  /** The sequence number of the job's newest event (0 without any). */
  async lastEventSeq(jobId: string): Promise<number> {
    const row = await this.db(EVENTS).where({ job_id: jobId }).max({ seq: 'seq' }).first();
    return Number(row?.seq ?? 0);
  }

  /**
   * Cancels a job that never started a step at once; otherwise flags it, and the worker that holds or
   * next claims it stops the running step, compensates and marks it cancelled.
   * Refused once a point-of-no-return step has started.
   */
  async requestCancel(jobId: string, by: string, reason: string | undefined, now: number): Promise<CancelOutcome> {
    const suffix = reason ? `: ${reason}` : '';
    return this.db.transaction(async trx => {
      const cancelledNow = await trx(JOBS)
        .where({ id: jobId, status: 'queued' })
        .whereNull('current_step')
        .update({
          status: 'cancelled',
          cancel_requested: true,
          lease_owner: null,
          lease_expires_at: null,
          lease_token: trx.raw('lease_token + 1'),
          finished_at: now,
          updated_at: now,
        });
      if (cancelledNow) {
        await trx(LOCKS).where({ job_id: jobId }).delete();
        await this.insertEvent(trx, jobId, now, { level: 'warn', message: `Cancelled by ${by}${suffix}` });
        return 'cancelled';
      }
      const flagged = await trx(JOBS)
        .where({ id: jobId })
        .whereIn('status', ['queued', 'running', 'awaiting_approval'])
        .whereNull('point_of_no_return_at')
        .update({ cancel_requested: true, updated_at: now });
      if (flagged) {
        // A parked or backing-off job is made runnable now, so a worker carries the cancellation out.
        await trx(JOBS)
          .where({ id: jobId })
          .whereIn('status', ['queued', 'awaiting_approval'])
          .update({ status: 'queued', next_run_at: now });
        await this.insertEvent(trx, jobId, now, {
          level: 'warn',
          message: `Cancellation requested by ${by}${suffix}`,
        });
        return 'requested';
      }
      const job = await trx(JOBS).where({ id: jobId }).first();
      if (!job) throw new NotFoundError(`No job ${jobId}`);
      if (TERMINAL_JOB_STATUSES.includes(job.status)) {
        throw new ConflictError(`Job ${jobId} has already finished (${job.status})`);
      }
      throw new ConflictError(
        `Job ${jobId} is past its point of no return (step ${job.current_step}) and can no longer be cancelled`,
      );
    });
  }

  /** Passes the approval gate the job waits at, recording who approved, when and why. */
  async approve(
    jobId: string,
    options: { by: string; step?: string; comment?: string },
    now: number,
  ): Promise<void> {
    await this.db.transaction(async trx => {
      const job = await trx(JOBS).where({ id: jobId }).first();
      if (!job) throw new NotFoundError(`No job ${jobId}`);
      const gate = await trx(STEPS).where({ job_id: jobId, status: 'waiting_approval' }).first();
      if (job.status !== 'awaiting_approval' || !gate) {
        throw new ConflictError(`Job ${jobId} is not waiting for approval (status ${job.status})`);
      }
      if (options.step && options.step !== gate.name) {
        throw new ConflictError(`Job ${jobId} waits for approval of ${gate.name}, not ${options.step}`);
      }
      const deadline = optionalNumber(job.approval_deadline_at);
      if (deadline !== undefined && deadline <= now) {
        throw new ConflictError(`The approval deadline of job ${jobId} passed at ${new Date(deadline).toISOString()}`);
      }
      const resumed = await trx(JOBS)
        .where({ id: jobId, status: 'awaiting_approval' })
        .update({ status: 'queued', next_run_at: now, approval_deadline_at: null, updated_at: now });
      if (!resumed) throw new ConflictError(`Job ${jobId} is not waiting for approval`);
      await trx(STEPS).where({ job_id: jobId, name: gate.name }).update({
        status: 'succeeded',
        finished_at: now,
        approved_by: options.by,
        approved_at: now,
        approval_comment: options.comment ?? null,
      });
      await this.insertEvent(trx, jobId, now, {
        step: gate.name,
        message: `Approved by ${options.by}`,
        fields: options.comment ? { comment: options.comment } : undefined,
      });
    });
  }

  /** Requeues a failed job; it resumes at the first step that did not succeed. */
  async retry(jobId: string, by: string, now: number): Promise<void> {
    await this.db.transaction(async trx => {
      const requeued = await trx(JOBS).where({ id: jobId, status: 'failed' }).update({
        status: 'queued',
        next_run_at: now,
        error_json: null,
        finished_at: null,
        cancel_requested: false,
        updated_at: now,
      });
      if (!requeued) {
        const job = await trx(JOBS).where({ id: jobId }).first();
        if (!job) throw new NotFoundError(`No job ${jobId}`);
        throw new ConflictError(`Only a failed job can be retried; job ${jobId} is ${job.status}`);
      }
      // Fresh retry budget; the status stays, so an interrupted non-idempotent step is still reconciled.
      await trx(STEPS).where({ job_id: jobId }).whereNot('status', 'succeeded').update({ attempt: 0 });
      await this.insertEvent(trx, jobId, now, { message: `Retry requested by ${by}` });
    });
  }

  // --- worker side ------------------------------------------------------------------------------

  /**
   * Claims the next runnable job: queued and due, or running with an expired lease (its worker died).
   * The claim bumps the fencing token, so the previous holder's writes fail from now on, and takes the
   * job's resource locks; a job whose resources another active job holds is skipped.
   */
  async claimNext(options: {
    owner: string;
    now: number;
    leaseMs: number;
    lockKeysOf: (job: JobRecord) => string[];
  }): Promise<JobRecord | undefined> {
    const { owner, now, leaseMs } = options;
    const tried: string[] = [];
    while (tried.length < MAX_CLAIM_CANDIDATES) {
      let outcome: JobRecord | 'none' | 'taken' | 'busy';
      try {
        outcome = await this.db.transaction(async trx => {
          let query = trx(JOBS)
            .select('id', 'status', 'lease_owner')
            .where(claimable(now))
            .orderBy([
              { column: 'priority', order: 'desc' },
              { column: 'created_at', order: 'asc' },
              { column: 'id', order: 'asc' },
            ])
            .first();
          if (tried.length) query = query.whereNotIn('id', tried);
          if (this.supportsSkipLocked) query = query.forUpdate().skipLocked();
          const candidate = await query;
          if (!candidate) return 'none';
          tried.push(candidate.id);
          const claimed = await trx(JOBS)
            .where({ id: candidate.id })
            .andWhere(claimable(now))
            .update({
              status: 'running',
              lease_owner: owner,
              lease_token: trx.raw('lease_token + 1'),
              lease_expires_at: now + leaseMs,
              heartbeat_at: now,
              attempt: trx.raw('attempt + 1'),
              updated_at: now,
            });
          if (!claimed) return 'taken';
          const job = toJob(await trx(JOBS).where({ id: candidate.id }).first());
          // In a fixed order, so two claims wanting overlapping resources cannot deadlock.
          for (const key of [...new Set(options.lockKeysOf(job))].sort()) {
            const holder = await this.acquireLock(trx, key, job, now);
            if (holder) throw new ResourceBusyError(`${key} is held by job ${holder}`);
          }
          const takeover = candidate.status === 'running';
          await this.insertEvent(trx, job.id, now, {
            level: takeover ? 'warn' : 'info',
            message: takeover
              ? `Lease of ${candidate.lease_owner} expired; taken over by ${owner} (lease ${job.leaseToken})`
              : `Claimed by ${owner} (lease ${job.leaseToken})`,
          });
          return job;
        });
      } catch (error) {
        if (!(error instanceof ResourceBusyError)) throw error;
        outcome = 'busy';
      }
      if (outcome === 'none') return undefined;
      if (typeof outcome === 'object') return outcome;
    }
    return undefined;
  }

  /** Extends the lease. Throws LeaseLostError if another worker holds the job now. */
  async heartbeat(lease: Lease, now: number, leaseMs: number): Promise<{ cancelRequested: boolean }> {
    return this.fenced(
      lease,
      now,
      async trx => {
        const row = await trx(JOBS).where({ id: lease.jobId }).first('cancel_requested');
        return { cancelRequested: Boolean(row.cancel_requested) };
      },
      { lease_expires_at: now + leaseMs, heartbeat_at: now },
    );
  }

  /**
   * Records that a step starts, before it runs: a crash from here on leaves the step `running`, which the
   * next holder sees. For a point-of-no-return step this also closes the door to cancellation; it returns
   * 'cancel_requested' (and records nothing) if a cancellation came first. `completed` is the step before
   * it, done and not yet recorded: both go in one commit (one fsync, one round trip less between steps).
   */
  async startStep(
    lease: Lease,
    now: number,
    step: { name: string; pointOfNoReturn: boolean },
    event: NewEvent,
    completed?: StepCompletion,
  ): Promise<'started' | 'cancel_requested'> {
    return this.db.transaction(async trx => {
      const jobUpdate: Record<string, unknown> = { current_step: step.name, updated_at: now };
      if (completed) jobUpdate.progress_json = null;
      const fence = trx(JOBS).where({ id: lease.jobId, lease_token: lease.token });
      if (step.pointOfNoReturn) {
        fence.andWhere('cancel_requested', false);
        jobUpdate.point_of_no_return_at = trx.raw('coalesce(point_of_no_return_at, ?)', [now]);
      }
      if (!(await fence.update(jobUpdate))) {
        const row = await trx(JOBS).where({ id: lease.jobId, lease_token: lease.token }).first();
        if (row?.cancel_requested) return 'cancel_requested';
        throw new LeaseLostError(`Lease ${lease.token} on job ${lease.jobId} is no longer held`);
      }
      if (completed) await this.recordCompletion(trx, lease.jobId, completed);
      await trx(STEPS).where({ job_id: lease.jobId, name: step.name }).update({
        status: 'running',
        attempt: trx.raw('attempt + 1'),
        started_lease_token: lease.token,
        started_at: now,
        finished_at: null,
        error_json: null,
      });
      await this.insertEvent(trx, lease.jobId, now, event);
      return 'started';
    });
  }

  async saveCheckpoint(lease: Lease, now: number, stepName: string, checkpoint: unknown): Promise<void> {
    await this.fenced(lease, now, trx =>
      trx(STEPS)
        .where({ job_id: lease.jobId, name: stepName })
        .update({ checkpoint_json: JSON.stringify(checkpoint ?? null) }),
    );
  }

  async appendEvent(lease: Lease, now: number, event: NewEvent): Promise<void> {
    await this.fenced(lease, now, trx => this.insertEvent(trx, lease.jobId, now, event));
  }

  async setProgress(lease: Lease, now: number, progress: StepProgress): Promise<void> {
    await this.fenced(lease, now, async trx => this.afterCommit(trx, lease.jobId), {
      progress_json: JSON.stringify(progress),
    });
  }

  async completeStep(lease: Lease, now: number, stepName: string, output: unknown, events: NewEvent[]): Promise<void> {
    const completion = { name: stepName, output, events, at: now };
    await this.fenced(lease, now, trx => this.recordCompletion(trx, lease.jobId, completion), { progress_json: null });
  }

  private async recordCompletion(trx: Knex.Transaction, jobId: string, completion: StepCompletion): Promise<void> {
    const { name, output, at, events } = completion;
    await trx(STEPS)
      .where({ job_id: jobId, name })
      .update({
        status: 'succeeded',
        output_json: output === undefined ? null : JSON.stringify(output),
        error_json: null,
        finished_at: at,
      });
    for (const event of events) await this.insertEvent(trx, jobId, at, event);
  }

  /**
   * Records a step failure. With `retryAt` the job goes back to the queue until then (lease given up,
   * resource locks kept); without, the caller compensates and finishes the job. `countAttempt` is for
   * failures before the step started (its reconcile failed), which startStep() did not count.
   */
  async failStep(
    lease: Lease,
    now: number,
    stepName: string,
    error: JobError,
    event: NewEvent,
    options: { retryAt?: number; countAttempt?: boolean } = {},
  ): Promise<void> {
    const { retryAt, countAttempt } = options;
    const requeue = retryAt === undefined ? {} : { ...released(this.db), status: 'queued', next_run_at: retryAt };
    await this.fenced(lease, now, async trx => {
      await trx(STEPS)
        .where({ job_id: lease.jobId, name: stepName })
        .update({
          status: 'failed',
          error_json: JSON.stringify(error),
          finished_at: now,
          ...(countAttempt ? { attempt: trx.raw('attempt + 1') } : {}),
        });
      await this.insertEvent(trx, lease.jobId, now, event);
    }, requeue);
  }

  async markCompensated(lease: Lease, now: number, stepName: string, event: NewEvent): Promise<void> {
    await this.fenced(lease, now, async trx => {
      await trx(STEPS)
        .where({ job_id: lease.jobId, name: stepName })
        .update({ status: 'compensated', finished_at: now });
      await this.insertEvent(trx, lease.jobId, now, event);
    });
  }

  /**
   * Parks the job at an approval gate: no worker holds it until approve() requeues it, or expireApprovalGates()
   * cancels it once `deadline` passed. Locks are kept.
   */
  async parkForApproval(
    lease: Lease,
    now: number,
    stepName: string,
    event: NewEvent,
    deadline?: number,
  ): Promise<void> {
    await this.fenced(lease, now, async trx => {
      await trx(STEPS)
        .where({ job_id: lease.jobId, name: stepName })
        .update({ status: 'waiting_approval', started_at: now, started_lease_token: lease.token });
      await this.insertEvent(trx, lease.jobId, now, event);
    }, {
      ...released(this.db),
      status: 'awaiting_approval',
      current_step: stepName,
      approval_deadline_at: deadline ?? null,
    });
  }

  /** Ends the job and frees its resources. */
  async finishJob(
    lease: Lease,
    now: number,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: JobError | undefined,
    event: NewEvent,
  ): Promise<void> {
    await this.fenced(lease, now, async trx => {
      await trx(LOCKS).where({ job_id: lease.jobId }).delete();
      await this.insertEvent(trx, lease.jobId, now, event);
    }, {
      ...released(this.db),
      status,
      error_json: error ? JSON.stringify(error) : null,
      progress_json: null,
      finished_at: now,
    });
  }

  /** Gives the job back to the queue at once (shutdown), so another instance need not wait for the lease. */
  async releaseLease(lease: Lease, now: number, event: NewEvent): Promise<void> {
    await this.fenced(lease, now, trx => this.insertEvent(trx, lease.jobId, now, event), {
      ...released(this.db),
      status: 'queued',
      next_run_at: now,
    });
  }

  /**
   * The janitor: requeues running jobs whose lease expired (their worker died), bumping the fencing token.
   * claimNext() also takes such jobs over directly; this makes them visible as queued meanwhile.
   */
  async requeueExpiredLeases(now: number): Promise<number> {
    const expired = await this.db(JOBS)
      .where('status', 'running')
      .andWhere('lease_expires_at', '<', now)
      .select('id', 'lease_owner', 'lease_token');
    let requeued = 0;
    for (const row of expired) {
      const wasRequeued = await this.db.transaction(async trx => {
        const count = await trx(JOBS)
          .where({ id: row.id, lease_token: row.lease_token, status: 'running' })
          .andWhere('lease_expires_at', '<', now)
          .update({ ...released(trx), status: 'queued', next_run_at: now, updated_at: now });
        if (!count) return false;
        await this.insertEvent(trx, row.id, now, {
          level: 'warn',
          message: `Lease of ${row.lease_owner} expired; job requeued`,
        });
        return true;
      });
      if (wasRequeued) requeued += 1;
    }
    return requeued;
  }

  /**
   * Part of the janitor: cancels the jobs whose approval deadline passed. The gate step fails with an
   * ApprovalExpired error, and the job is requeued with its cancellation flag, so the worker that claims it
   * compensates the earlier steps (the job holds no lease while parked, so no worker needs to be running it).
   */
  async expireApprovalGates(now: number): Promise<number> {
    const expired = await this.db(JOBS)
      .where('status', 'awaiting_approval')
      .andWhere('approval_deadline_at', '<=', now)
      .select('id', 'current_step', 'approval_deadline_at');
    let cancelled = 0;
    for (const row of expired) {
      const deadline = new Date(Number(row.approval_deadline_at)).toISOString();
      const wasCancelled = await this.db.transaction(async trx => {
        const count = await trx(JOBS)
          .where({ id: row.id, status: 'awaiting_approval' })
          .andWhere('approval_deadline_at', '<=', now)
          .update({ status: 'queued', next_run_at: now, cancel_requested: true, updated_at: now });
        if (!count) return false;
        const error = { name: APPROVAL_EXPIRED, message: `No approval of ${row.current_step} by its deadline ${deadline}` };
        await trx(STEPS)
          .where({ job_id: row.id, name: row.current_step, status: 'waiting_approval' })
          .update({ status: 'failed', error_json: JSON.stringify(error), finished_at: now });
        await this.insertEvent(trx, row.id, now, {
          level: 'warn',
          step: row.current_step,
          message: `Approval deadline passed (${deadline}) without an approval; cancelling the job`,
        });
        return true;
      });
      if (wasCancelled) cancelled += 1;
    }
    return cancelled;
  }

  // --- internals --------------------------------------------------------------------------------

  /**
   * Runs `write` in a transaction that first proves the lease: the fencing update. Zero rows changed means
   * the lease is gone, and nothing is written.
   */
  private async fenced<T>(
    lease: Lease,
    now: number,
    write: (trx: Knex.Transaction) => Promise<T>,
    jobUpdate: Record<string, unknown> = {},
  ): Promise<T> {
    return this.db.transaction(async trx => {
      const count = await trx(JOBS)
        .where({ id: lease.jobId, lease_token: lease.token })
        .update({ updated_at: now, ...jobUpdate });
      if (!count) throw new LeaseLostError(`Lease ${lease.token} on job ${lease.jobId} is no longer held`);
      return write(trx);
    });
  }

  /**
   * Sequence numbers are per job; callers have updated the job row first, which serialises them.
   * One statement (the next seq is computed in the INSERT) to save a round trip per event.
   */
  private async insertEvent(trx: Knex.Transaction, jobId: string, now: number, event: NewEvent): Promise<void> {
    const fields = event.fields && Object.keys(event.fields).length ? JSON.stringify(event.fields) : null;
    const fieldsJson =
      fields && fields.length > MAX_FIELDS_CHARS ? JSON.stringify({ truncated: truncate(fields, MAX_FIELDS_CHARS) }) : fields;
    await trx.raw(
      `INSERT INTO ${EVENTS} (job_id, seq, ts, level, step, message, fields_json)
       SELECT ?, COALESCE(MAX(seq), 0) + 1, CAST(? AS BIGINT), ?, ?, ?, ? FROM ${EVENTS} WHERE job_id = ?`,
      [jobId, now, event.level ?? 'info', event.step ?? null, truncate(event.message, MAX_MESSAGE_CHARS), fieldsJson, jobId],
    );
    this.afterCommit(trx, jobId);
  }

  /** Every status change appends an event, so events and progress are all the listener needs to hear about. */
  private afterCommit(trx: Knex.Transaction, jobId: string): void {
    const listener = this.onJobChanged;
    if (!listener) return;
    // Only after the commit, so whoever the listener tells reads the new state; a rollback tells no one.
    trx.executionPromise.then(
      () => listener(jobId),
      () => {},
    );
  }

  /** Returns the id of the active job holding `key`, or undefined once this job holds it. */
  private async acquireLock(
    trx: Knex.Transaction,
    key: string,
    job: JobRecord,
    now: number,
  ): Promise<string | undefined> {
    const mine = { job_id: job.id, lease_token: job.leaseToken, acquired_at: now };
    await trx(LOCKS).insert({ resource_key: key, ...mine }).onConflict('resource_key').ignore();
    const lock = await trx(LOCKS).where({ resource_key: key }).first();
    if (lock.job_id === job.id) {
      if (Number(lock.lease_token) !== job.leaseToken) {
        await trx(LOCKS).where({ resource_key: key }).update({ lease_token: job.leaseToken });
      }
      return undefined;
    }
    const holder = await trx(JOBS).where({ id: lock.job_id }).first('status');
    if (holder && !TERMINAL_JOB_STATUSES.includes(holder.status)) return lock.job_id;
    const taken = await trx(LOCKS).where({ resource_key: key, job_id: lock.job_id }).update(mine);
    return taken ? undefined : lock.job_id;
  }

  private filtered(filter: JobFilter) {
    const query = this.db(JOBS);
    if (filter.entityRefs) query.whereIn('entity_ref', filter.entityRefs);
    if (filter.status) query.where('status', filter.status);
    if (filter.kind) query.where('kind', filter.kind);
    return query;
  }

  private async findByIdempotencyKey(key: string): Promise<JobRecord | undefined> {
    const row = await this.db(JOBS).where({ idempotency_key: key }).first();
    return row ? toJob(row) : undefined;
  }
}

function claimable(now: number) {
  return (query: Knex.QueryBuilder) =>
    query
      .where(queued => queued.where('status', 'queued').andWhere('next_run_at', '<=', now))
      .orWhere(orphaned => orphaned.where('status', 'running').andWhere('lease_expires_at', '<', now));
}

/** The columns that give a job up; bumping the token makes any straggling write of the old holder fail. */
function released(db: Knex) {
  return {
    lease_owner: null,
    lease_expires_at: null,
    lease_token: db.raw('lease_token + 1'),
  };
}

function truncate(text: string, max: number) {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

function parse(json: string | null | undefined): any {
  return json === null || json === undefined ? undefined : JSON.parse(json);
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function toJob(row: any): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    entityRef: row.entity_ref,
    params: parse(row.params_json) ?? {},
    status: row.status,
    currentStep: row.current_step ?? undefined,
    attempt: Number(row.attempt),
    priority: Number(row.priority),
    idempotencyKey: row.idempotency_key ?? undefined,
    leaseOwner: row.lease_owner ?? undefined,
    leaseToken: Number(row.lease_token),
    leaseExpiresAt: optionalNumber(row.lease_expires_at),
    heartbeatAt: optionalNumber(row.heartbeat_at),
    nextRunAt: Number(row.next_run_at),
    pointOfNoReturnAt: optionalNumber(row.point_of_no_return_at),
    approvalDeadlineAt: row.status === 'awaiting_approval' ? optionalNumber(row.approval_deadline_at) : undefined,
    cancelRequested: Boolean(row.cancel_requested),
    progress: parse(row.progress_json),
    error: parse(row.error_json),
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: optionalNumber(row.finished_at),
  };
}

function toStep(row: any): StepRecord {
  return {
    jobId: row.job_id,
    index: Number(row.step_index),
    name: row.name,
    status: row.status,
    attempt: Number(row.attempt),
    checkpoint: parse(row.checkpoint_json),
    output: parse(row.output_json),
    error: parse(row.error_json),
    startedLeaseToken: optionalNumber(row.started_lease_token),
    startedAt: optionalNumber(row.started_at),
    finishedAt: optionalNumber(row.finished_at),
    approvedBy: row.approved_by ?? undefined,
    approvedAt: optionalNumber(row.approved_at),
    approvalComment: row.approval_comment ?? undefined,
  };
}

function toEvent(row: any): EventRecord {
  return {
    jobId: row.job_id,
    seq: Number(row.seq),
    ts: Number(row.ts),
    level: row.level,
    step: row.step ?? undefined,
    message: row.message,
    fields: parse(row.fields_json),
  };
}
