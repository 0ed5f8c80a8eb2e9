import { randomUUID } from 'node:crypto';
import { Clock } from '../jobs/clock';
import { JobStore } from '../jobs/JobStore';
import { JobKind } from '../jobs/types';
import { ScheduleStore } from './ScheduleStore';

const ACTIVE = new Set(['queued', 'running', 'awaiting_approval', 'waiting_approval', 'cancelling']);

/**
 * Turns due schedules into `replication.run` jobs. Never two runs of one schedule at once; a failed run is
 * counted once and spaces the next try out (5, 10, 15, then 30 minutes), as Proxmox's pvesr does.
 */
export class ReplicationTicker {
  constructor(
    private readonly options: {
      schedules: ScheduleStore;
      jobs: JobStore;
      kind: JobKind<any>;
      clock: Clock;
      onEnqueued?: () => void;
    },
  ) {}

  /** Returns the ids of the jobs it created. */
  async tick(): Promise<string[]> {
    const { schedules, jobs, kind, clock } = this.options;
    const created: string[] = [];
    // A failed run is counted as soon as it ended, so its retry comes after the backoff, not the interval.
    for (const schedule of await schedules.withPendingOutcome()) {
      const last = await jobs.getJob(schedule.lastJobId!);
      if (last && !ACTIVE.has(last.status) && last.status !== 'succeeded') {
        const error = last.error ? `: ${JSON.stringify(last.error).slice(0, 500)}` : '';
        await schedules.markFailed(schedule.id, last.id, `job ${last.id} ${last.status}${error}`, clock.now());
      }
    }
    for (const schedule of await schedules.due(clock.now())) {
      if (schedule.lastJobId) {
        const last = await jobs.getJob(schedule.lastJobId);
        if (last && ACTIVE.has(last.status)) continue;
      }
      const { job } = await jobs.createJob(
        {
          id: randomUUID(),
          kind: kind.kind,
          entityRef: schedule.entityRef,
          params: { scheduleId: schedule.id },
          steps: kind.steps,
          createdBy: 'service:fediversity-replication',
          idempotencyKey: `replication:${schedule.id}:${schedule.nextRunAt}`,
        },
        clock.now(),
      );
      if (await schedules.markEnqueued(schedule.id, job.id, clock.now(), schedule.nextRunAt)) created.push(job.id);
    }
    if (created.length) this.options.onEnqueued?.();
    return created;
  }
}
