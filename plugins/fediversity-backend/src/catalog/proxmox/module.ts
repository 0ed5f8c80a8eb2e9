import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
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
      },
      async init({ catalog, config, logger, scheduler, clusters }) {
        const scheduleOf = readProviderSchedules(config);
        for (const cluster of clusters.list()) {
          catalog.addEntityProvider(
            ProxmoxEntityProvider.create({
              cluster,
              logger,
              taskRunner: scheduler.createScheduledTaskRunner(scheduleOf(cluster.name)),
            }),
          );
        }
      },
    });
  },
});
