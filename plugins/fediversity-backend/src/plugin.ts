import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { fediversityPermissions } from '@fediversity/plugin-fediversity-common';
import { createRouter } from './service/router';
import { checkDatabaseIsDurable } from './service/databaseDurability';
import { systemClock } from './jobs/clock';
import { readJobsConfig } from './jobs/config';
import { fediversityJobKindsExtensionPoint } from './jobs/extensionPoint';
import { runJobsJanitor } from './jobs/janitor';
import { JobEngine } from './jobs/JobEngine';
import { JobService } from './jobs/JobService';
import { JobStore } from './jobs/JobStore';
import { demoJobKinds } from './jobs/kinds/demo';
import { applyMigrations } from './jobs/migrations';
import { useDurableCommits } from './jobs/sqliteCommits';
import { Redactor } from './jobs/redaction';
import { catalogEntityOwners, JobSignalPublisher } from './jobs/signals';
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
        auth: coreServices.auth,
        catalog: catalogServiceRef,
        signals: signalsServiceRef,
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
        auth,
        catalog,
        signals,
      }) {
        checkDatabaseIsDurable(config, logger);
        const knex = await database.getClient();
        // applyMigrations makes the commits durable; the setting belongs to the connection, not the schema.
        if (database.migrations?.skip) await useDurableCommits(knex);
        else await applyMigrations(knex);
        permissionsRegistry.addPermissions(fediversityPermissions);

        const jobsConfig = readJobsConfig(config);
        const kinds = new JobKindRegistry([...demoJobKinds, ...addedJobKinds]);
        // Job changes become Backstage signals, so pages refetch when something happened instead of polling.
        const jobSignals = new JobSignalPublisher({
          jobs: new JobStore(knex),
          signals,
          owners: catalogEntityOwners({ catalog, auth }),
          logger: logger.child({ component: 'job-signals' }),
        });
        lifecycle.addShutdownHook(() => jobSignals.stop());
        const store = new JobStore(knex, jobSignals.jobChanged);
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
          fn: () => runJobsJanitor({ store, clock: systemClock, logger }),
        });

        httpRouter.use(await createRouter({ logger, config, httpAuth, permissions, jobs }));
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
      },
    });
  },
});
