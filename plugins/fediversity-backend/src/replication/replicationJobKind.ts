import { z } from 'zod';
import { JobKind } from '../jobs/types';
import { ReplicationExecutor } from './executor';
import { ScheduleStore } from './ScheduleStore';

export const replicationRunParams = z.object({ scheduleId: z.string().uuid() }).strict();
export type ReplicationRunParams = z.infer<typeof replicationRunParams>;

/**
 * `replication.run`: one run of a schedule. The engine retries the step with backoff; the schedule adds
 * Proxmox-style spacing between failed runs (see ReplicationTicker). A failed run leaves the last good copy
 * in place: every strategy only replaces it after the new one is verified.
 */
export function replicationRunJobKind(store: ScheduleStore, executor: ReplicationExecutor): JobKind<ReplicationRunParams> {
  return {
    kind: 'replication.run',
    title: 'Replicate a data class of an instance',
    params: replicationRunParams,
    locks: job => [`replication:${job.params.scheduleId}`],
    retry: { maxAttempts: 3, initialDelayMs: 30_000, maxDelayMs: 5 * 60_000 },
    steps: [
      {
        name: 'replicate',
        title: 'Copy the delta and record the recovery point',
        async run(ctx) {
          const schedule = await store.get(ctx.job.params.scheduleId);
          await ctx.log(`${schedule.strategy} replication of ${schedule.dataClass}`);
          const outcome = await executor.run(schedule, ctx, async point => {
            await store.recordRecoveryPoint(schedule.id, { ...point, jobId: ctx.job.id }, ctx.clock.now());
          });
          return { consistentAt: new Date(outcome.consistentAt).toISOString(), ...outcome.detail };
        },
      },
    ],
  };
}
