import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { createRouter } from './service/router';
import { checkDatabaseIsDurable } from './service/databaseDurability';

/**
 * The Fediversity backend plugin: job engine, REST API and instance store.
 * This file only wires dependencies; logic lives in the services it builds.
 */
export const fediversityPlugin = createBackendPlugin({
  pluginId: 'fediversity',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
      },
      async init({ config, logger, httpRouter }) {
        checkDatabaseIsDurable(config, logger);
        httpRouter.use(await createRouter({ logger, config }));
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
      },
    });
  },
});
