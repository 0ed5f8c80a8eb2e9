import {
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';

/** Refresh every few minutes; the embedded simulator and small clusters answer in well under a second. */
export const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { minutes: 2 },
  timeout: { minutes: 5 },
  initialDelay: { seconds: 3 },
};

/**
 * Refresh schedules per cluster, from `fediversity.proxmox.clusters[].schedule` (the scheduler's usual
 * `frequency`/`timeout`/`initialDelay` keys). Clusters without one (and the embedded simulator) get
 * {@link DEFAULT_SCHEDULE}.
 */
export function readProviderSchedules(
  config: Config,
): (cluster: string) => SchedulerServiceTaskScheduleDefinition {
  const schedules = new Map<string, SchedulerServiceTaskScheduleDefinition>();
  for (const [index, entry] of (
    config.getOptionalConfigArray('fediversity.proxmox.clusters') ?? []
  ).entries()) {
    const schedule = entry.getOptionalConfig('schedule');
    if (!schedule) continue;
    try {
      schedules.set(
        entry.getString('name'),
        readSchedulerServiceTaskScheduleDefinitionFromConfig(schedule),
      );
    } catch (error) {
      throw new InputError(
        `fediversity.proxmox.clusters[${index}].schedule is invalid: ${error}`,
      );
    }
  }
  return cluster => schedules.get(cluster) ?? DEFAULT_SCHEDULE;
}
