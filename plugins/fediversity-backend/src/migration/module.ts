import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { guestAccessServiceRef, pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
import { ScheduleStore } from '../replication/ScheduleStore';
import { InstanceStore } from '../instances/InstanceStore';
import { fediversityJobKindsExtensionPoint } from '../jobs/extensionPoint';
import { JobStore } from '../jobs/JobStore';
import { applyMigrations } from '../jobs/migrations';
import { decommissionJobKind } from './decommissionJobKind';
import { createDecommissionRouter } from './decommissionRouter';
import { readMigrationDns } from './dnsConfig';
import { sshHostConnector } from './hosts';
import { instanceStoreRelocator } from './instanceRelocation';
import { migrationJobKind } from './migrationJobKind';
import { catalogAppDefinitions } from './planAppDefinition';
import { readMigrationPlanConfig } from './planConfig';
import { MigrationPlanner } from './planner';
import { sshPeerKeyInstaller } from './planPeerKey';
import { sshHostProbe } from './planProbe';
import { proxmoxTargetProvisioner } from './provisionTarget';
import { createMigrationRouter } from './router';
import { proxmoxTargetBinder } from './targetBinding';

const SECRET_NAME = /^[A-Za-z0-9_-]{1,100}$/;
/** `guest-access.<cluster>`: the portal's own key for a cluster's guests (what planned migrations reference). */
const GUEST_KEY_REF = /^guest-access\.([a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?)$/;

/**
 * The `instance.migrate` job kind. SSH private keys are referenced by name from the job params and read from
 * `fediversity.migration.secrets.<name>` (Backstage config, e.g. from an env substitution), never stored in
 * the job; DNS cut-overs use `fediversity.dns`; target guests are provisioned on the configured PVE clusters.
 * Routes `POST /migrations/preflight` and `POST /migrations` plan a migration of a recorded instance (its own guest
 * key, referenced as `guest-access.<cluster>`), and its record follows the instance to the target.
 */
export const fediversityModuleMigration = createBackendModule({
  pluginId: 'fediversity',
  moduleId: 'migration',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        lifecycle: coreServices.lifecycle,
        jobKinds: fediversityJobKindsExtensionPoint,
        clusters: pveClustersServiceRef,
        guestAccess: guestAccessServiceRef,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        auth: coreServices.auth,
        logger: coreServices.logger,
        catalog: catalogServiceRef,
        events: eventsServiceRef,
      },
      async init(options) {
        const { config, lifecycle, jobKinds, clusters, guestAccess, database, logger } = options;
        const knex = await database.getClient();
        // The plugin applies the same migrations; doing it here too lets the routes find their tables at once.
        if (!database.migrations?.skip) await applyMigrations(knex);
        const instances = new InstanceStore(knex);
        const schedules = new ScheduleStore(knex);
        const jobs = new JobStore(knex);
        const secrets = config.getOptionalConfig('fediversity.migration.secrets');
        const resolveSecret = async (name: string) => {
          const guestKey = GUEST_KEY_REF.exec(name);
          if (guestKey) return (await guestAccess.clientKey(clusters.get(guestKey[1]))).privateKey;
          const value = SECRET_NAME.test(name) ? secrets?.getOptionalString(name) : undefined;
          if (!value) throw new NotFoundError(`Secret ${name} is not configured under fediversity.migration.secrets`);
          return value;
        };
        const connect = sshHostConnector(resolveSecret);
        const kind = migrationJobKind({
          connect,
          resolveSecret,
          dns: readMigrationDns(config),
          provisioner: proxmoxTargetProvisioner(clusters, guestAccess),
          binder: proxmoxTargetBinder(clusters),
          relocator: instanceStoreRelocator({ instances, schedules, clusters, events: options.events, logger }),
        });
        jobKinds.addJobKind(kind);
        lifecycle.addShutdownHook(() => kind.closeSessions());

        const planner = new MigrationPlanner({
          instances,
          schedules,
          jobs,
          clusters,
          guestAccess,
          appDefinition: catalogAppDefinitions(options.catalog, options.auth),
          probe: sshHostProbe(),
          peerKeys: sshPeerKeyInstaller(),
          config: readMigrationPlanConfig(config),
        });
        options.httpRouter.use(
          createMigrationRouter({ planner, jobs, kind, httpAuth: options.httpAuth, permissions: options.permissions }),
        );

        // After a completed migration: `POST /migrations/:jobId/decommission` removes the kept source.
        const decommission = decommissionJobKind({ jobs, connect, clusters });
        jobKinds.addJobKind(decommission);
        options.httpRouter.use(
          createDecommissionRouter({ jobs, kind: decommission, httpAuth: options.httpAuth, permissions: options.permissions }),
        );
      },
    });
  },
});
