export type { Clock } from './clock';
export { systemClock, sleep } from './clock';
export { PermanentJobError, LeaseLostError, JobCancelledError, EngineStoppingError } from './errors';
export { JobKindRegistry } from './registry';
export { JobStore } from './JobStore';
export { JobEngine } from './JobEngine';
export { JobService } from './JobService';
export { Redactor, REDACTED } from './redaction';
export { applyMigrations } from './migrations';
export { demoJobKinds, demoEchoJobKind, demoApprovalJobKind } from './kinds/demo';
export { DEFAULT_RETRY_POLICY } from './types';
export type {
  JobKind,
  JobStepDefinition,
  RunStepDefinition,
  ApprovalGateDefinition,
  ReconcileResult,
  RetryPolicy,
  StepContext,
} from './types';
export { fediversityJobKindsExtensionPoint } from './extensionPoint';
export type { FediversityJobKindsExtensionPoint } from './extensionPoint';
