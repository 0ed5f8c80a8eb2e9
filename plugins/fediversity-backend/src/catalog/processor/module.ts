import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint, catalogServiceRef } from '@backstage/plugin-catalog-node';
import { FediversityEntityProcessor } from './FediversityEntityProcessor';

/**
 * Catalog module adding the FediversityEntityProcessor: schema validation of our fields (processing errors name
 * the field and the reason), SWOT tags, and the dependsOn relations of app definitions, instances and layers.
 */
export const catalogModuleFediversityProcessor = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'fediversity-processor',
  register(reg) {
    reg.registerInit({
      deps: {
        processing: catalogProcessingExtensionPoint,
        catalog: catalogServiceRef,
        auth: coreServices.auth,
        logger: coreServices.logger,
      },
      async init({ processing, catalog, auth, logger }) {
        processing.addProcessor(
          new FediversityEntityProcessor({
            logger,
            findEntity: async entityRef =>
              catalog.getEntityByRef(entityRef, { credentials: await auth.getOwnServiceCredentials() }),
          }),
        );
      },
    });
  },
});
