import { JobError, JobEventLevel, JobStatus, StepStatus } from '@fediversity/plugin-fediversity-common';

/** The engine's view of the stored rows (camelCase, times in epoch ms). */

export interface JobRecord {
  id: string;
  kind: string;
  entityRef: string;
  params: Record<string, unknown>;
  status: JobStatus;
  currentStep?: string;
  attempt: number;
  priority: number;
  idempotencyKey?: string;
  leaseOwner?: string;
  leaseToken: number;
  leaseExpiresAt?: number;
  heartbeatAt?: number;
  nextRunAt: number;
  pointOfNoReturnAt?: number;
  /** While parked at an approval gate with a deadline: when the gate expires. */
  approvalDeadlineAt?: number;
  cancelRequested: boolean;
  progress?: StepProgress;
  error?: JobError;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
}

export interface StepProgress {
  step: string;
  done?: number;
  total?: number;
  message?: string;
}

export interface StepRecord {
  jobId: string;
  index: number;
  name: string;
  status: StepStatus;
  attempt: number;
  checkpoint?: unknown;
  output?: unknown;
  error?: JobError;
  startedLeaseToken?: number;
  startedAt?: number;
  finishedAt?: number;
  approvedBy?: string;
  approvedAt?: number;
  approvalComment?: string;
}

export interface EventRecord {
  jobId: string;
  seq: number;
  ts: number;
  level: JobEventLevel;
  step?: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** An event to append; the store assigns seq and ts. */
export interface NewEvent {
  level?: JobEventLevel;
  step?: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** A step that succeeded, recorded with the next step's start where one follows (JobStore.startStep). */
export interface StepCompletion {
  name: string;
  output: unknown;
  /** The step's closing events (StepContext.logOutcome) and then its "Step succeeded", in that order. */
  events: NewEvent[];
  /** When it succeeded: the step's finished_at and its events' time. */
  at: number;
}

/** Proof of holding a job: its fencing token. Every worker write is checked against it. */
export interface Lease {
  jobId: string;
  token: number;
  owner: string;
}
