import { RootConfigService } from '@backstage/backend-plugin-api';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_LEASE_MS } from './JobEngine';

export interface JobsConfig {
  /** Whether this instance runs jobs; an API-only instance sets `fediversity.jobs.worker: false`. */
  worker: boolean;
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  /** How often the scheduler wakes the worker to look for runnable jobs (retries that came due). */
  tickSeconds: number;
}

export function readJobsConfig(config: RootConfigService): JobsConfig {
  const jobs = config.getOptionalConfig('fediversity.jobs');
  return {
    worker: jobs?.getOptionalBoolean('worker') ?? true,
    concurrency: jobs?.getOptionalNumber('concurrency') ?? 4,
    leaseMs: (jobs?.getOptionalNumber('leaseSeconds') ?? DEFAULT_LEASE_MS / 1000) * 1000,
    heartbeatMs: (jobs?.getOptionalNumber('heartbeatSeconds') ?? DEFAULT_HEARTBEAT_MS / 1000) * 1000,
    tickSeconds: jobs?.getOptionalNumber('tickSeconds') ?? 5,
  };
}
