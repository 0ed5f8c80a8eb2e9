import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { fediversityPermissions } from '@fediversity/plugin-fediversity-common';
import { createRouter } from './service/router';
import { checkDatabaseIsDurable } from './service/databaseDurability';
import { systemClock } from './jobs/clock';
import { readJobsConfig } from './jobs/config';
import { fediversityJobKindsExtensionPoint } from './jobs/extensionPoint';
import { JobEngine } from './jobs/JobEngine';
import { JobService } from './jobs/JobService';
import { JobStore } from './jobs/JobStore';
import { demoJobKinds } from './jobs/kinds/demo';
import { applyMigrations } from './jobs/migrations';
import { Redactor } from './jobs/redaction';
import { JobKindRegistry } from './jobs/registry';
import { JobKind } from './jobs/types';

/**
 * The Fediversity backend plugin: job engine, REST API and instance store.
 * This file only wires dependencies; logic lives in the services it builds.
 */
export const fediversityPlugin = createBackendPlugin({
  pluginId: 'fediversity',
  register(env) {
    const addedJobKinds: JobKind<any>[] = [];
    env.registerExtensionPoint(fediversityJobKindsExtensionPoint, {
      addJobKind: (...kinds) => addedJobKinds.push(...kinds),
    });

    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
      },
      async init({
        config,
        logger,
        httpRouter,
        httpAuth,
        permissions,
        permissionsRegistry,
        database,
        scheduler,
        lifecycle,
      }) {
        checkDatabaseIsDurable(config, logger);
        const knex = await database.getClient();
        if (!database.migrations?.skip) await applyMigrations(knex);
        permissionsRegistry.addPermissions(fediversityPermissions);

        const jobsConfig = readJobsConfig(config);
        const kinds = new JobKindRegistry([...demoJobKinds, ...addedJobKinds]);
        const store = new JobStore(knex);
        const redactor = new Redactor();
        const engine = jobsConfig.worker
          ? new JobEngine({ store, kinds, logger: logger.child({ component: 'jobs' }), redactor, ...jobsConfig })
          : undefined;
        const jobs = new JobService({ store, kinds, clock: systemClock, redactor, engine });

        // The scheduler is only the ticker and the janitor; the jobs live in our own tables.
        if (engine) {
          await scheduler.scheduleTask({
            id: 'fediversity-jobs-tick',
            scope: 'local',
            frequency: { seconds: jobsConfig.tickSeconds },
            timeout: { minutes: 1 },
            fn: () => engine.tick(),
          });
          lifecycle.addShutdownHook(() => engine.stop());
        }
        await scheduler.scheduleTask({
          id: 'fediversity-jobs-janitor',
          scope: 'global',
          frequency: { minutes: 1 },
          timeout: { minutes: 1 },
          fn: async () => {
            const requeued = await store.requeueExpiredLeases(systemClock.now());
            if (requeued) logger.warn(`Requeued ${requeued} job(s) whose worker stopped heartbeating`);
          },
        });

        httpRouter.use(await createRouter({ logger, config, httpAuth, permissions, jobs }));
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
      },
    });
  },
});
