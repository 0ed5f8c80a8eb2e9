/**
 * Errors with a meaning for the engine. A step throws `PermanentJobError` to fail without retries;
 * the others are abort reasons of a step's AbortSignal, so a step can tell why it was stopped.
 */

/** The error name of a job whose approval gate expired (on the gate step and on the cancelled job). */
export const APPROVAL_EXPIRED = 'ApprovalExpired';

/** A failure that retrying cannot fix (bad input, refused by the remote side). The job fails at once. */
export class PermanentJobError extends Error {
  name = 'PermanentJobError';
}

/** Another worker holds the job now (our lease expired and was taken over): stop, write nothing more. */
export class LeaseLostError extends Error {
  name = 'LeaseLostError';
}

/** Someone cancelled the job; the step should stop its remote process and return. */
export class JobCancelledError extends Error {
  name = 'JobCancelledError';
}

/** The backend is shutting down; the job is handed to another instance, not failed. */
export class EngineStoppingError extends Error {
  name = 'EngineStoppingError';
}
