import { LoggerService } from '@backstage/backend-plugin-api';
import { Clock } from './clock';
import { JobStore } from './JobStore';

/**
 * The jobs' housekeeping, run by a global scheduler task on whichever instance (a worker or API-only):
 * requeues jobs whose worker stopped heartbeating, and cancels jobs whose approval deadline passed, so a
 * worker rolls them back even though none was running them while they waited.
 */
export async function runJobsJanitor(options: { store: JobStore; clock: Clock; logger: LoggerService }): Promise<void> {
  const { store, clock, logger } = options;
  const requeued = await store.requeueExpiredLeases(clock.now());
  if (requeued) logger.warn(`Requeued ${requeued} job(s) whose worker stopped heartbeating`);
  const expired = await store.expireApprovalGates(clock.now());
  if (expired) logger.warn(`Cancelled ${expired} job(s) whose approval deadline passed`);
}
