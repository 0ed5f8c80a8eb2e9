import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
import { fediversityJobKindsExtensionPoint } from '../jobs/extensionPoint';
import { instanceBackupJobKind } from './backupJobKind';
import { InstanceStore } from './InstanceStore';
import { applyInstanceMigrations } from './migrations';
import { createInstancesRouter } from './router';

/**
 * The instance store of the fediversity plugin: its table, the `/instances` routes, and the `instance.backup`
 * job kind provisioning enqueues as an instance's first backup.
 */
export const fediversityModuleInstances = createBackendModule({
  pluginId: 'fediversity',
  moduleId: 'instances',
  register(reg) {
    reg.registerInit({
      deps: {
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auth: coreServices.auth,
        userInfo: coreServices.userInfo,
        logger: coreServices.logger,
        config: coreServices.rootConfig,
        jobKinds: fediversityJobKindsExtensionPoint,
        clusters: pveClustersServiceRef,
        events: eventsServiceRef,
      },
      async init({ database, httpRouter, httpAuth, auth, userInfo, logger, config, jobKinds, clusters, events }) {
        const knex = await database.getClient();
        if (!database.migrations?.skip) await applyInstanceMigrations(knex);
        jobKinds.addJobKind(instanceBackupJobKind(clusters));
        httpRouter.use(
          createInstancesRouter({ store: new InstanceStore(knex), events, httpAuth, auth, userInfo, logger, config }),
        );
      },
    });
  },
});
