import { z } from 'zod';

/**
 * The job API's wire types (REST, /api/fediversity/jobs), shared by the backend, the frontend and clients.
 * Times are ISO 8601 strings; sequence numbers (`seq`) of events are per job and start at 1.
 */

export const JOB_STATUSES = [
  'queued',
  'running',
  'awaiting_approval',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job in one of these states does not change again (except through retry, for failed and cancelled). */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export const STEP_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'waiting_approval',
  'compensated',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export interface JobError {
  name: string;
  message: string;
}

export interface JobApproval {
  approvedBy: string;
  approvedAt: string;
  comment?: string;
}

export interface JobStep {
  index: number;
  name: string;
  title?: string;
  status: StepStatus;
  attempt: number;
  pointOfNoReturn: boolean;
  approvalGate: boolean;
  startedAt?: string;
  finishedAt?: string;
  error?: JobError;
  approval?: JobApproval;
}

export interface JobProgress {
  stepsDone: number;
  stepsTotal: number;
  /** The running step's own progress, as it last reported it. */
  current?: { step: string; done?: number; total?: number; message?: string };
}

export interface JobSummary {
  id: string;
  kind: string;
  entityRef: string;
  status: JobStatus;
  currentStep?: string;
  /** How many times a worker has claimed the job. */
  attempt: number;
  cancelRequested: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** For a queued job waiting for a retry backoff: when it becomes runnable. */
  nextRunAt?: string;
  /** For a job awaiting approval at a gate with a deadline: when the job is cancelled without an approval. */
  approvalDeadline?: string;
  error?: JobError;
  progress: JobProgress;
}

export interface JobDetails extends JobSummary {
  /** The job's parameters; secrets appear only as `{ secretRef }` references. */
  params: Record<string, unknown>;
  steps: JobStep[];
}

export type JobEventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface JobEvent {
  jobId: string;
  seq: number;
  ts: string;
  level: JobEventLevel;
  step?: string;
  message: string;
  fields?: Record<string, unknown>;
}

export interface ListJobsResponse {
  items: JobSummary[];
}

export interface ListJobEventsResponse {
  events: JobEvent[];
  /** Pass as `after` to get the next events. */
  lastSeq: number;
  jobStatus: JobStatus;
}

/** A reference to a secret held by the backend (config or secret store); never the value. */
export const secretRefSchema = z.object({ secretRef: z.string().min(1).max(200) }).strict();
export type SecretRef = z.infer<typeof secretRefSchema>;

export const listJobsQuerySchema = z.object({
  entityRef: z.string().min(1).optional(),
  status: z.enum(JOB_STATUSES).optional(),
  kind: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type ListJobsQuery = z.input<typeof listJobsQuerySchema>;

export const listJobEventsQuerySchema = z.object({
  after: z.coerce.number().int().min(0).default(0),
  /** Long-poll: wait up to this many seconds for new events when there are none. */
  wait: z.coerce.number().min(0).max(60).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});
export type ListJobEventsQuery = z.input<typeof listJobEventsQuerySchema>;

export const createJobRequestSchema = z
  .object({
    kind: z.string().min(1).max(100),
    entityRef: z.string().min(1).max(500),
    params: z.record(z.unknown()).default({}),
    /** A repeated create with the same key returns the first job instead of a new one. */
    idempotencyKey: z.string().min(1).max(200).optional(),
  })
  .strict();
export type CreateJobRequest = z.input<typeof createJobRequestSchema>;

export const cancelJobRequestSchema = z
  .object({ reason: z.string().max(2000).optional() })
  .strict();
export type CancelJobRequest = z.input<typeof cancelJobRequestSchema>;

export const approveJobRequestSchema = z
  .object({
    /** The approval gate to pass; defaults to the one the job waits at. */
    step: z.string().min(1).optional(),
    comment: z.string().max(2000).optional(),
  })
  .strict();
export type ApproveJobRequest = z.input<typeof approveJobRequestSchema>;

export const retryJobRequestSchema = z.object({}).strict();
export type RetryJobRequest = z.input<typeof retryJobRequestSchema>;
