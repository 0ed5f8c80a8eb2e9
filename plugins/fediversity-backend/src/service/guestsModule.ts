import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
import { createGuestsRouter } from './guestsRouter';

/** Live guest status and node storage usage from Proxmox for the entity pages (read-only). */
export const fediversityModuleGuests = createBackendModule({
  pluginId: 'fediversity',
  moduleId: 'guests',
  register(reg) {
    reg.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        clusters: pveClustersServiceRef,
      },
      async init({ httpRouter, httpAuth, clusters }) {
        httpRouter.use(createGuestsRouter({ clusters, httpAuth }));
      },
    });
  },
});
