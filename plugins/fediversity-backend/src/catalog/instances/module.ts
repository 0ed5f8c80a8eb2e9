import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { INSTANCES_TOPIC } from '../../instances/types';
import { InstanceEntityProvider } from './InstanceEntityProvider';

/** Catalog module: the instances provisioning recorded, as Components of type `service`. */
export const catalogModuleFediversityInstances = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'fediversity-instances',
  register(reg) {
    reg.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
        events: eventsServiceRef,
      },
      async init({ catalog, config, logger, scheduler, discovery, auth, events }) {
        const scheduleConfig = config.getOptionalConfig('fediversity.instances.schedule');
        const schedule = scheduleConfig
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(scheduleConfig)
          : { frequency: { seconds: 10 }, timeout: { minutes: 1 }, initialDelay: { seconds: 5 } };
        const provider = new InstanceEntityProvider({
          source: InstanceEntityProvider.restSource({ discovery, auth }),
          logger,
          taskRunner: scheduler.createScheduledTaskRunner(schedule),
        });
        catalog.addEntityProvider(provider);
        // A new instance shows up at once; the schedule stays as the safety net.
        await events.subscribe({
          id: 'fediversity-instances-provider',
          topics: [INSTANCES_TOPIC],
          onEvent: async () => {
            provider.refresh().catch(error => logger.warn(`Refreshing fediversity instances after an event failed: ${error}`));
          },
        });
      },
    });
  },
});
