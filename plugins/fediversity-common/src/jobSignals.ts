import { JobStatus } from './jobs';

/** The Backstage signals channel on which the backend announces job changes. */
export const JOB_SIGNAL_CHANNEL = 'fediversity:jobs';

/**
 * A job changed: its status, or an event was appended, or its step progress moved. Ids and state only, never
 * params, outputs, messages or errors; a receiver fetches the rest through the API, which checks its permissions.
 *
 * Sent to the owners of the job's entity (who may read the job under the portal's owner policy). When the owners
 * cannot be resolved, it is broadcast to every subscriber with the job id alone.
 */
export type JobSignalMessage = JobUpdateSignal | JobIdSignal;

/** Sent to the owners of the job's entity. */
export type JobUpdateSignal = {
  jobId: string;
  entityRef: string;
  status: JobStatus;
  /** The job's newest event; a client that has it can skip fetching events. */
  lastSeq: number;
};

/** Broadcast when the entity's owners are unknown: says nothing but which job to look at. */
export type JobIdSignal = {
  jobId: string;
};
