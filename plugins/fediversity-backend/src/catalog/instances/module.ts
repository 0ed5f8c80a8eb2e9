import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
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
      },
      async init({ catalog, config, logger, scheduler, discovery, auth }) {
        const scheduleConfig = config.getOptionalConfig('fediversity.instances.schedule');
        const schedule = scheduleConfig
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(scheduleConfig)
          : { frequency: { seconds: 30 }, timeout: { minutes: 1 }, initialDelay: { seconds: 5 } };
        catalog.addEntityProvider(
          new InstanceEntityProvider({
            source: InstanceEntityProvider.restSource({ discovery, auth }),
            logger,
            taskRunner: scheduler.createScheduledTaskRunner(schedule),
          }),
        );
      },
    });
  },
});
