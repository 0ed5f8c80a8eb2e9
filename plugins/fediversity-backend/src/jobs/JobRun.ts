import { LoggerService } from '@backstage/backend-plugin-api';
import { JobError } from '@fediversity/plugin-fediversity-common';
import { Clock, sleep } from './clock';
import { APPROVAL_EXPIRED, EngineStoppingError, JobCancelledError, LeaseLostError, PermanentJobError } from './errors';
import { JobStore } from './JobStore';
import { JobRecord, Lease, NewEvent, StepCompletion, StepRecord } from './records';
import { Redactor } from './redaction';
import { isRunStep } from './registry';
import { DEFAULT_RETRY_POLICY, JobKind, RetryPolicy, RunStepDefinition, StepContext } from './types';

export interface JobRunOptions {
  store: JobStore;
  clock: Clock;
  logger: LoggerService;
  redactor: Redactor;
  leaseMs: number;
  heartbeatMs: number;
  /** In [0, 1); the jitter of retry delays. */
  random: () => number;
}

const PROGRESS_INTERVAL_MS = 1_000;

type StepOutcome = { type: 'succeeded'; output: unknown } | { type: 'stopped' };

/**
 * Runs one claimed job until it ends, parks at an approval gate, is requeued for a retry, or the lease
 * is lost. Resumes at the first step that has not succeeded, so a job taken over from a dead worker
 * continues where that worker was.
 */
export class JobRun {
  private readonly lease: Lease;
  /** Aborted when this run must stop writing: lease lost, or the engine stops. */
  private readonly runController = new AbortController();
  private stepController?: AbortController;
  private readonly redactor: Redactor;
  private cancelRequested: boolean;
  private pointOfNoReturnStarted = false;
  private stopHeartbeat?: () => void;
  private finished = false;
  private lastProgressAt = -Infinity;
  /**
   * The step that just succeeded, not yet recorded: it is written with the next step's start (one commit
   * between steps instead of two), or on its own before anything else is written. A crash before then
   * leaves it `running`, as a crash just before its own commit did: the next holder runs it again or
   * reconciles it, and no later step has started.
   */
  private pendingCompletion?: StepCompletion;

  constructor(
    private readonly options: JobRunOptions,
    private readonly job: JobRecord,
    private readonly kind: JobKind<any> | undefined,
  ) {
    this.lease = { jobId: job.id, token: job.leaseToken, owner: job.leaseOwner ?? '' };
    this.redactor = options.redactor.child();
    this.cancelRequested = job.cancelRequested;
    this.pointOfNoReturnStarted = job.pointOfNoReturnAt !== undefined;
  }

  async run(): Promise<void> {
    this.scheduleHeartbeat();
    try {
      await this.execute();
    } catch (error) {
      const reason = this.runController.signal.aborted ? this.runController.signal.reason : error;
      if (reason instanceof LeaseLostError || error instanceof LeaseLostError) {
        this.options.logger.warn(`Job ${this.job.id}: lease ${this.lease.token} lost; stopped without writing`);
      } else if (reason instanceof EngineStoppingError) {
        await this.flushCompletion().catch(() => {});
        await this.store.releaseLease(this.lease, this.now(), {
          level: 'warn',
          message: `Released by ${this.lease.owner}: backend stopping`,
        }).catch(() => {});
      } else {
        // A database failure: leave the lease to expire, another claim resumes the job.
        this.options.logger.error(`Job ${this.job.id} stopped by an unexpected error`, toJobError(error, this.redactor));
      }
    } finally {
      this.finished = true;
      this.stopHeartbeat?.();
    }
  }

  /** Checks for a cancellation now instead of at the next heartbeat. */
  checkNow(): Promise<void> {
    return this.heartbeat();
  }

  stop(): void {
    this.abortRun(new EngineStoppingError('Backend stopping'));
  }

  private get store() {
    return this.options.store;
  }

  private now() {
    return this.options.clock.now();
  }

  private async execute(): Promise<void> {
    const kind = this.kind;
    if (!kind) {
      await this.finish('failed', {
        name: 'UnknownJobKind',
        message: `This backend has no job kind ${this.job.kind}`,
      });
      return;
    }
    const rows = await this.store.getSteps(this.job.id);
    const outputs: Record<string, unknown> = {};
    for (const [index, definition] of kind.steps.entries()) {
      const row = rows.find(candidate => candidate.name === definition.name);
      if (!row) {
        await this.finish('failed', {
          name: 'JobDefinitionChanged',
          message: `Step ${definition.name} of ${kind.kind} is not in the stored job`,
        });
        return;
      }
      if (row.status === 'succeeded') {
        outputs[row.name] = row.output;
        continue;
      }
      // Stopping or lease lost between steps: start nothing new.
      if (this.runController.signal.aborted) throw this.runController.signal.reason;
      if (this.cancelRequested) {
        await this.compensateAndFinish(kind, rows, 'cancelled', this.approvalExpiry(kind, rows));
        return;
      }
      if (!isRunStep(definition)) {
        const timeoutMs = definition.timeoutMs?.(this.job.params);
        // A job stored before its kind had a deadline has no such param (NaN here): it waits as it always did.
        const deadline = timeoutMs !== undefined && Number.isFinite(timeoutMs) ? this.now() + timeoutMs : undefined;
        await this.flushCompletion();
        await this.store.parkForApproval(
          this.lease,
          this.now(),
          definition.name,
          {
            step: definition.name,
            message: `Waiting for approval${definition.title ? `: ${definition.title}` : ''}`,
            fields: deadline === undefined ? undefined : { deadline: new Date(deadline).toISOString() },
          },
          deadline,
        );
        return;
      }
      const outcome = await this.runStep(kind, definition, row, index, outputs, rows);
      if (outcome.type === 'stopped') return;
      outputs[row.name] = outcome.output;
      row.output = outcome.output;
      row.status = 'succeeded';
    }
    await this.finish('succeeded');
  }

  private async runStep(
    kind: JobKind<any>,
    definition: RunStepDefinition<any>,
    row: StepRecord,
    index: number,
    outputs: Record<string, unknown>,
    rows: StepRecord[],
  ): Promise<StepOutcome> {
    const name = definition.name;
    const stepController = new AbortController();
    this.stepController = stepController;
    const outcomeEvents: NewEvent[] = [];
    const ctx = this.context(definition, row, index, outputs, stepController.signal, outcomeEvents);
    const startedBefore = row.status === 'running' || row.status === 'failed';
    const pointOfNoReturn = definition.pointOfNoReturn === true;
    let startedNow = false;
    try {
      if (startedBefore && (pointOfNoReturn || definition.idempotent === false)) {
        // Check-then-act: the step may have taken effect before the crash or error; never rerun it blindly.
        if (!definition.reconcile) {
          throw new PermanentJobError(
            `Step ${name} was interrupted and is not idempotent; it has no reconcile(), ` +
              'so an operator must check its effect and retry the job',
          );
        }
        await this.event({ level: 'warn', step: name, message: 'Step started before; reconciling' });
        const result = await definition.reconcile(ctx);
        if (result.done) {
          await this.store.completeStep(this.lease, this.now(), name, this.redactor.redactKnownValues(result.output), [
            { step: name, message: 'Step had already taken effect; not run again' },
          ]);
          return { type: 'succeeded', output: result.output };
        }
        await this.event({ step: name, message: 'Step had not taken effect; running it' });
      }
      const completed = this.pendingCompletion;
      const started = await this.store.startStep(
        this.lease,
        this.now(),
        { name, pointOfNoReturn },
        {
          step: name,
          message: `Step started (attempt ${row.attempt + 1}${pointOfNoReturn ? ', point of no return' : ''})`,
        },
        completed,
      );
      // Refused for a cancellation, startStep recorded nothing: the completion is still to be written.
      if (started === 'started' && this.pendingCompletion === completed) this.pendingCompletion = undefined;
      if (started === 'cancel_requested') {
        this.cancelRequested = true;
        await this.compensateAndFinish(kind, rows, 'cancelled');
        return { type: 'stopped' };
      }
      startedNow = true;
      row.status = 'running';
      if (pointOfNoReturn) this.pointOfNoReturnStarted = true;
      // Outputs and checkpoints are stored, so they pass the redactor like events do.
      const output = this.redactor.redactKnownValues(await definition.run(ctx));
      const events = [...outcomeEvents, { step: name, message: 'Step succeeded' }];
      this.pendingCompletion = { name, output, at: this.now(), events };
      return { type: 'succeeded', output };
    } catch (error) {
      return this.handleStepError(kind, definition, row, rows, error, stepController.signal, startedNow);
    } finally {
      this.stepController = undefined;
    }
  }

  private async handleStepError(
    kind: JobKind<any>,
    definition: RunStepDefinition<any>,
    row: StepRecord,
    rows: StepRecord[],
    error: unknown,
    signal: AbortSignal,
    startedNow: boolean,
  ): Promise<StepOutcome> {
    const reason = signal.aborted ? signal.reason : error;
    if (reason instanceof LeaseLostError || reason instanceof EngineStoppingError) throw reason;
    if (error instanceof LeaseLostError) throw error;
    await this.flushCompletion();
    const name = definition.name;
    if (reason instanceof JobCancelledError) {
      if (startedNow) {
        await this.store.failStep(this.lease, this.now(), name, toJobError(reason, this.redactor), {
          level: 'warn',
          step: name,
          message: 'Step stopped: job cancelled',
        });
        row.status = 'failed';
      }
      await this.compensateAndFinish(kind, rows, 'cancelled');
      return { type: 'stopped' };
    }
    const jobError = toJobError(error, this.redactor);
    const policy: RetryPolicy = definition.retry ?? kind.retry ?? DEFAULT_RETRY_POLICY;
    // A failed reconcile counts as an attempt too, or a step that cannot be checked would retry forever.
    const attempt = row.attempt + 1;
    const countAttempt = !startedNow;
    const budgetLeft = attempt < policy.maxAttempts && !(error instanceof PermanentJobError);
    const tries = `attempt ${attempt}/${policy.maxAttempts}`;
    if (budgetLeft) {
      const delay = retryDelay(policy, attempt, this.options.random);
      await this.store.failStep(
        this.lease,
        this.now(),
        name,
        jobError,
        { level: 'warn', step: name, message: `Step failed (${tries}): ${jobError.message}; retrying in ${delay} ms` },
        { retryAt: this.now() + delay, countAttempt },
      );
      return { type: 'stopped' };
    }
    await this.store.failStep(
      this.lease,
      this.now(),
      name,
      jobError,
      { level: 'error', step: name, message: `Step failed (${tries}): ${jobError.message}` },
      { countAttempt },
    );
    row.status = 'failed';
    await this.compensateAndFinish(kind, rows, 'failed', jobError);
    return { type: 'stopped' };
  }

  /**
   * Undoes started steps in reverse order (those with compensate()), then ends the job. After a
   * point-of-no-return step started there is nothing to undo: the job ends as it is. Each compensation
   * sees the outputs of the steps that succeeded, as the steps did, whether they ran in this run or an
   * earlier one (a job cancelled at its approval gate is undone by a run that ran none of them).
   */
  private async compensateAndFinish(
    kind: JobKind<any>,
    rows: StepRecord[],
    status: 'failed' | 'cancelled',
    error?: JobError,
  ): Promise<void> {
    await this.flushCompletion();
    if (this.pointOfNoReturnStarted) {
      await this.event({ level: 'warn', message: 'Past the point of no return: nothing is compensated' });
    } else {
      for (let index = kind.steps.length - 1; index >= 0; index--) {
        const definition = kind.steps[index];
        const row = rows.find(candidate => candidate.name === definition.name);
        if (!isRunStep(definition) || !definition.compensate || !row) continue;
        if (!['succeeded', 'failed', 'running'].includes(row.status)) continue;
        await this.event({ step: definition.name, message: 'Compensating' });
        try {
          const outputs = Object.fromEntries(rows.filter(step => step.status === 'succeeded').map(step => [step.name, step.output]));
          await definition.compensate(this.context(definition, row, index, outputs, this.runController.signal));
        } catch (compensationError) {
          if (compensationError instanceof LeaseLostError || this.runController.signal.aborted) {
            throw compensationError;
          }
          const failure = toJobError(compensationError, this.redactor);
          await this.finish('failed', {
            name: 'CompensationFailed',
            message: `Compensating ${definition.name} failed: ${failure.message}`,
          });
          return;
        }
        await this.store.markCompensated(this.lease, this.now(), definition.name, {
          step: definition.name,
          message: 'Compensated',
        });
        row.status = 'compensated';
      }
    }
    await this.finish(status, error);
  }

  /** The job's error when it is cancelled because an approval gate expired (the janitor failed the gate). */
  private approvalExpiry(kind: JobKind<any>, rows: StepRecord[]): JobError | undefined {
    const gate = rows.find(row => row.status === 'failed' && row.error?.name === APPROVAL_EXPIRED);
    if (!gate) return undefined;
    const definition = kind.steps.find(step => step.name === gate.name);
    const outcome = definition && !isRunStep(definition) ? definition.timeoutOutcome : undefined;
    const rolledBack = this.pointOfNoReturnStarted ? '' : '; rolled back';
    return { name: APPROVAL_EXPIRED, message: `${gate.error!.message}${rolledBack}${outcome ? `: ${outcome}` : ''}` };
  }

  private async finish(status: 'succeeded' | 'failed' | 'cancelled', error?: JobError): Promise<void> {
    await this.flushCompletion();
    await this.store.finishJob(this.lease, this.now(), status, error, finishEvent(status, error));
  }

  private context(
    definition: RunStepDefinition<any>,
    row: StepRecord,
    index: number,
    outputs: Record<string, unknown>,
    signal: AbortSignal,
    outcomeEvents: NewEvent[] = [],
  ): StepContext<any> {
    const step = definition.name;
    return {
      job: {
        id: this.job.id,
        kind: this.job.kind,
        entityRef: this.job.entityRef,
        params: this.job.params,
        createdBy: this.job.createdBy,
      },
      step: { name: step, index, attempt: row.attempt + 1 },
      signal,
      // Read from the shared row, so a compensation later in this run sees what the step saved.
      get checkpoint() {
        return row.checkpoint;
      },
      saveCheckpoint: async value => {
        await this.fencedWrite(() =>
          this.store.saveCheckpoint(this.lease, this.now(), step, this.redactor.redactKnownValues(value)),
        );
        row.checkpoint = value;
      },
      outputs: { ...outputs },
      log: (message, fields, level = 'info') => this.event({ level, step, message, fields }),
      logOutcome: (message, fields, level = 'info') => {
        outcomeEvents.push(this.redactedEvent({ level, step, message, fields }));
      },
      progress: async progress => {
        const now = this.now();
        if (now - this.lastProgressAt < PROGRESS_INTERVAL_MS) return;
        this.lastProgressAt = now;
        await this.fencedWrite(() =>
          this.store.setProgress(this.lease, now, this.redactor.redact({ step, ...progress })),
        );
      },
      registerSecret: value => this.redactor.add(value),
      clock: this.options.clock,
      sleep: ms => sleep(this.options.clock, ms, signal),
    };
  }

  private async event(event: NewEvent): Promise<void> {
    await this.flushCompletion();
    return this.fencedWrite(() => this.store.appendEvent(this.lease, this.now(), this.redactedEvent(event)));
  }

  private redactedEvent(event: NewEvent): NewEvent {
    return { ...event, message: this.redactor.redactString(event.message), fields: event.fields && this.redactor.redact(event.fields) };
  }

  /** Records the step that succeeded last on its own, where no step start comes to carry it. */
  private async flushCompletion(): Promise<void> {
    const completion = this.pendingCompletion;
    if (!completion) return;
    await this.fencedWrite(() => this.store.completeStep(this.lease, completion.at, completion.name, completion.output, completion.events));
    if (this.pendingCompletion === completion) this.pendingCompletion = undefined;
  }

  /** A write that finds the lease gone stops the whole run, not just the call. */
  private async fencedWrite(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (error instanceof LeaseLostError) this.abortRun(error);
      throw error;
    }
  }

  private scheduleHeartbeat() {
    if (this.finished) return;
    this.stopHeartbeat = this.options.clock.setTimeout(() => {
      void this.heartbeat().finally(() => this.scheduleHeartbeat());
    }, this.options.heartbeatMs);
  }

  private async heartbeat(): Promise<void> {
    if (this.finished || this.runController.signal.aborted) return;
    try {
      const { cancelRequested } = await this.store.heartbeat(this.lease, this.now(), this.options.leaseMs);
      if (cancelRequested && !this.cancelRequested) {
        this.cancelRequested = true;
        // Past the point of no return the API refuses cancellation, so this only stops undoable work.
        this.stepController?.abort(new JobCancelledError('Job cancelled'));
      }
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.abortRun(error);
      } else {
        // A database hiccup; the lease may still hold. The next heartbeat tries again.
        this.options.logger.warn(`Heartbeat of job ${this.job.id} failed: ${String(error)}`);
      }
    }
  }

  private abortRun(reason: Error) {
    if (!this.runController.signal.aborted) this.runController.abort(reason);
    this.stepController?.abort(reason);
  }
}

/** Exponential backoff with jitter: half of the delay fixed, half random, capped. `attempt` counts from 1. */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** The last event of a job's log. */
function finishEvent(status: 'succeeded' | 'failed' | 'cancelled', error: JobError | undefined): NewEvent {
  if (status === 'succeeded') return { level: 'info', message: 'Job succeeded' };
  if (status === 'cancelled') return { level: 'warn', message: error ? `Job cancelled: ${error.message}` : 'Job cancelled' };
  return { level: 'error', message: `Job failed: ${error?.message}` };
}

function toJobError(error: unknown, redactor: Redactor): JobError {
  if (error instanceof Error) {
    return { name: error.name, message: redactor.redactString(error.message) };
  }
  return { name: 'Error', message: redactor.redactString(String(error)) };
}
