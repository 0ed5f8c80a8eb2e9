import { JobDetails, JobEvent, JobStep, JobSummary } from '@fediversity/plugin-fediversity-common';
import { EventRecord, JobRecord, StepRecord } from './records';
import { isRunStep } from './registry';
import { JobKind } from './types';

/** Stored records to the API's wire types (ISO times, no lease internals). */

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function toJobSummary(job: JobRecord, stepsDone?: number, stepsTotal?: number): JobSummary {
  return {
    id: job.id,
    kind: job.kind,
    entityRef: job.entityRef,
    status: job.status,
    currentStep: job.currentStep,
    attempt: job.attempt,
    cancelRequested: job.cancelRequested,
    createdBy: job.createdBy,
    createdAt: iso(job.createdAt)!,
    updatedAt: iso(job.updatedAt)!,
    finishedAt: iso(job.finishedAt),
    nextRunAt: job.status === 'queued' ? iso(job.nextRunAt) : undefined,
    approvalDeadline: iso(job.approvalDeadlineAt),
    error: job.error,
    progress: {
      stepsDone: stepsDone ?? 0,
      stepsTotal: stepsTotal ?? 0,
      current: job.progress,
    },
  };
}

export function toJobDetails(job: JobRecord, steps: StepRecord[], kind: JobKind<any> | undefined): JobDetails {
  const done = steps.filter(step => step.status === 'succeeded').length;
  return {
    ...toJobSummary(job, done, steps.length),
    params: job.params,
    steps: steps.map(step => toJobStep(step, kind)),
  };
}

function toJobStep(step: StepRecord, kind: JobKind<any> | undefined): JobStep {
  const definition = kind?.steps.find(candidate => candidate.name === step.name);
  return {
    index: step.index,
    name: step.name,
    title: definition?.title,
    status: step.status,
    attempt: step.attempt,
    pointOfNoReturn: !!definition && isRunStep(definition) && definition.pointOfNoReturn === true,
    approvalGate: !!definition && !isRunStep(definition),
    startedAt: iso(step.startedAt),
    finishedAt: iso(step.finishedAt),
    error: step.error,
    approval: step.approvedBy
      ? { approvedBy: step.approvedBy, approvedAt: iso(step.approvedAt)!, comment: step.approvalComment }
      : undefined,
  };
}

export function toJobEvent(event: EventRecord): JobEvent {
  return {
    jobId: event.jobId,
    seq: event.seq,
    ts: iso(event.ts)!,
    level: event.level,
    step: event.step,
    message: event.message,
    fields: event.fields,
  };
}
