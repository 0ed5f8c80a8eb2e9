import { randomUUID } from 'node:crypto';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { InstanceStore } from '../instances/InstanceStore';
import { Clock } from '../jobs/clock';
import { JobStore } from '../jobs/JobStore';
import { JobKind } from '../jobs/types';
import { DrillParams } from './params';

/**
 * Schedules restore drills: one `backup.drill` job per instance and period. The idempotency key names the period,
 * so several backend instances ticking at once (or a restarted one) create each drill once.
 */
export class DrillTicker {
  constructor(
    private readonly options: {
      instances: InstanceStore;
      jobs: JobStore;
      kind: JobKind<DrillParams>;
      clock: Clock;
      intervalMs: number;
    },
  ) {}

  async tick(): Promise<string[]> {
    const { instances, jobs, kind, clock, intervalMs } = this.options;
    const period = Math.floor(clock.now() / intervalMs);
    const created: string[] = [];
    for (const instance of await instances.list()) {
      const { job, created: isNew } = await jobs.createJob(
        {
          id: randomUUID(),
          kind: kind.kind,
          entityRef: stringifyEntityRef({ kind: 'component', namespace: 'default', name: instance.name }),
          params: {
            guest: { cluster: instance.cluster, node: instance.node, vmid: instance.vmid },
            storage: instance.storage,
          } satisfies DrillParams,
          steps: kind.steps,
          createdBy: 'service:fediversity-restore-drills',
          idempotencyKey: `drill:${instance.id}:${period}`,
        },
        clock.now(),
      );
      if (isNew) created.push(job.id);
    }
    return created;
  }
}
