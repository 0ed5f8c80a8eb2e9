import { ResourcePermission } from '@backstage/plugin-permission-common';
import { z } from 'zod';
import { Clock } from './clock';

/**
 * What a job kind author writes: a named, ordered list of steps. The engine runs them in order, persists
 * each step's status, checkpoint and output, retries failures with backoff, and resumes after a crash at
 * the first step that did not succeed. At-least-once by construction, so every step must be idempotent
 * (safe to run again) or declare `idempotent: false` / `pointOfNoReturn: true` with a `reconcile`.
 */
export interface JobKind<TParams = Record<string, unknown>> {
  /** Allow-listed identifier, e.g. `demo.echo`, `migration.rsync`. */
  kind: string;
  title?: string;
  /** Validates `params` when the job is created (the request is refused otherwise). */
  params?: z.ZodType<TParams, z.ZodTypeDef, unknown>;
  /** Checked against the job's entity when the job is created; default `fediversity.job.create`. */
  permission?: ResourcePermission<'catalog-entity'>;
  /**
   * Resources the job writes to; held from its first claim until it ends, so two mutating jobs never
   * overlap on one resource. Default: the job's entity (`entity:<ref>`). Return [] for read-only jobs.
   */
  locks?(job: { entityRef: string; params: TParams }): string[];
  /** Default retry policy of the kind's steps. */
  retry?: RetryPolicy;
  steps: ReadonlyArray<JobStepDefinition<TParams>>;
}

export type JobStepDefinition<TParams = Record<string, unknown>> =
  | RunStepDefinition<TParams>
  | ApprovalGateDefinition<TParams>;

export interface RunStepDefinition<TParams = Record<string, unknown>> {
  /** Unique within the kind: `[a-z][a-z0-9-]*`. Renaming a step orphans the checkpoints of running jobs. */
  name: string;
  title?: string;
  approvalGate?: false;
  /** Does the work. The return value is stored as the step's output (ctx.outputs[name] in later steps). */
  run(ctx: StepContext<TParams>): Promise<unknown>;
  /**
   * False if running the step twice could do harm (default true). A step that started before (it crashed
   * or threw) is then not run again blindly: `reconcile` decides, and without one the job fails for an operator.
   */
  idempotent?: boolean;
  /**
   * The irreversible step (promote, DNS flip, delete). Runs only after every earlier step succeeded; once it
   * starts the job can no longer be cancelled or compensated. Requires `reconcile`.
   */
  pointOfNoReturn?: boolean;
  /**
   * Check-then-act for a non-idempotent step that started before: inspect the world and say whether the
   * step's effect already happened (then `run` is skipped) or not (then `run` runs).
   * Throw (e.g. PermanentJobError) when the state is ambiguous.
   */
  reconcile?(ctx: StepContext<TParams>): Promise<ReconcileResult>;
  /** Undoes the step when the job is cancelled or fails for good before the point of no return. */
  compensate?(ctx: StepContext<TParams>): Promise<void>;
  retry?: RetryPolicy;
}

/**
 * Parks the job in `awaiting_approval` until someone with `fediversity.job.approve` approves it, or its
 * deadline passes: then the janitor cancels the job, its earlier steps are compensated, and it ends
 * `cancelled` with an `ApprovalExpired` error.
 */
export interface ApprovalGateDefinition<TParams = Record<string, unknown>> {
  name: string;
  title?: string;
  approvalGate: true;
  /** How long the gate waits from when the job reaches it; undefined (the default) waits forever. */
  timeoutMs?(params: TParams): number | undefined;
  /** What the rollback after a missed deadline leaves, for the job's error, e.g. "the source keeps serving". */
  timeoutOutcome?: string;
}

export type ReconcileResult = { done: true; output?: unknown } | { done: false };

export interface RetryPolicy {
  /** Runs of a step before the job fails (1 = no retry). */
  maxAttempts: number;
  /** Delay before the second run; doubles each time, with jitter (half fixed, half random). */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 5_000,
  maxDelayMs: 5 * 60_000,
};

/** What a step gets. Every write through it is fenced by the job's lease. */
export interface StepContext<TParams = Record<string, unknown>> {
  job: {
    id: string;
    kind: string;
    entityRef: string;
    params: TParams;
    createdBy: string;
  };
  step: { name: string; index: number; attempt: number };
  /**
   * Aborted when the job is cancelled (reason JobCancelledError), its lease is lost (LeaseLostError) or the
   * backend stops (EngineStoppingError). Pass it to remote commands: the SSH handle kills the remote process.
   */
  signal: AbortSignal;
  /**
   * The step's latest saved checkpoint (from this run, an earlier attempt or another instance), if any; a
   * compensation sees what its step saved, even earlier in the same run.
   */
  checkpoint: unknown;
  saveCheckpoint(checkpoint: unknown): Promise<void>;
  /** Outputs of the steps that succeeded before this one, by step name. */
  outputs: Readonly<Record<string, unknown>>;
  /** Appends to the job's event log (redacted). */
  log(message: string, fields?: Record<string, unknown>, level?: 'debug' | 'info' | 'warn' | 'error'): Promise<void>;
  /**
   * The step's closing word: appended to the log (redacted) just before its "Step succeeded", in the same
   * commit, so it costs the step no write of its own on the way to the next one. Dropped if the step fails.
   */
  logOutcome(message: string, fields?: Record<string, unknown>, level?: 'debug' | 'info' | 'warn' | 'error'): void;
  /** Reports progress of this step (written at most once a second). */
  progress(progress: { done?: number; total?: number; message?: string }): Promise<void>;
  /** Call with every secret value the step resolves, so it is redacted from events and errors. */
  registerSecret(value: string): void;
  clock: Clock;
  /** Waits on the engine's clock; rejects when the signal aborts. */
  sleep(ms: number): Promise<void>;
}
