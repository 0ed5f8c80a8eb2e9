import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
import { INSTANCES_TOPIC } from '../../instances/types';
import { ProxmoxEntityProvider } from './ProxmoxEntityProvider';
import { readProviderSchedules } from './ProxmoxEntityProviderConfig';

/** Catalog module: one Proxmox entity provider per configured cluster (or the embedded simulator). */
export const catalogModuleFediversityProxmox = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'fediversity-proxmox',
  register(reg) {
    reg.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        clusters: pveClustersServiceRef,
        events: eventsServiceRef,
      },
      async init({ catalog, config, logger, scheduler, clusters, events }) {
        const scheduleOf = readProviderSchedules(config);
        const providers = clusters.list().map(cluster =>
          ProxmoxEntityProvider.create({
            cluster,
            logger,
            taskRunner: scheduler.createScheduledTaskRunner(scheduleOf(cluster.name)),
          }),
        );
        for (const provider of providers) catalog.addEntityProvider(provider);
        // A recorded or moved instance names a guest that may be new: list the guests again now, not at the next tick.
        await events.subscribe({
          id: 'fediversity-proxmox-provider',
          topics: [INSTANCES_TOPIC],
          onEvent: async () => {
            for (const provider of providers) {
              provider.refresh().catch(error => logger.warn(`Refreshing the Proxmox inventory after an event failed: ${error}`));
            }
          },
        });
      },
    });
  },
});
