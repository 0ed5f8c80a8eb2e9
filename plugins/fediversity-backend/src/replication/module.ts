import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { hostSpecSchema } from '@fediversity/plugin-fediversity-common';
import { guestAccessServiceRef, pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
import { backupCreateJobKind } from '../backups/backupJobKind';
import { DrillStore } from '../backups/DrillStore';
import { DrillTicker } from '../backups/DrillTicker';
import { GuestNode, pctExecGuestFiles } from '../backups/guestFiles';
import { drillJobKind, restoreInPlaceJobKind, restoreJobKind } from '../backups/jobKinds';
import { ManifestStore } from '../backups/ManifestStore';
import { InstanceStore } from '../instances/InstanceStore';
import { catalogAppDefinitions } from '../migration/planAppDefinition';
import { systemClock } from '../jobs/clock';
import { PermanentJobError } from '../jobs/errors';
import { fediversityJobKindsExtensionPoint } from '../jobs/extensionPoint';
import { JobStore } from '../jobs/JobStore';
import { applyMigrations } from '../jobs/migrations';
import { ReplicationExecutor } from './executor';
import { sshHostConnector } from './hosts';
import { replicationRunJobKind } from './replicationJobKind';
import { ReplicationTicker } from './ReplicationTicker';
import { createReplicationRouter } from './router';
import { ScheduleStore } from './ScheduleStore';
import { replicationPrivateKey } from './sshKey';

/**
 * Replication schedules (replication.run jobs from a ticker), recovery points, backups listing, restores and
 * restore drills, with their routes under /api/fediversity. Secrets come from `fediversity.replication` config.
 */
export const fediversityModuleReplication = createBackendModule({
  pluginId: 'fediversity',
  moduleId: 'replication',
  register(reg) {
    reg.registerInit({
      deps: {
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        scheduler: coreServices.scheduler,
        logger: coreServices.logger,
        config: coreServices.rootConfig,
        jobKinds: fediversityJobKindsExtensionPoint,
        clusters: pveClustersServiceRef,
        catalog: catalogServiceRef,
        auth: coreServices.auth,
        guestAccess: guestAccessServiceRef,
      },
      async init({ database, httpRouter, httpAuth, permissions, scheduler, logger, config, jobKinds, clusters, catalog, auth, guestAccess }) {
        const knex = await database.getClient();
        // The plugin applies the same migrations; doing it here too lets this module's first tick find its tables.
        if (!database.migrations?.skip) await applyMigrations(knex);
        const settings = config.getOptionalConfig('fediversity.replication');
        const privateKey = settings?.getOptionalString('sshPrivateKey');
        const credentials = settings?.getOptionalConfig('s3Credentials');
        const postgresPasswords = settings?.getOptionalConfig('postgresPasswords');

        const appDefinitions = catalogAppDefinitions(catalog, auth);
        const schedules = new ScheduleStore(knex);
        const drills = new DrillStore(knex);
        const manifests = new ManifestStore(knex);
        const jobs = new JobStore(knex);
        const connect = sshHostConnector(replicationPrivateKey({ configured: privateKey, clusters, guestAccess }));
        // Proxmox nodes reached over SSH to run commands in their containers (file manifests of backups and
        // restores); without them restores are verified without checksums.
        const guestNodes: GuestNode[] = (settings?.getOptionalConfigArray('nodes') ?? []).map(node => ({
          cluster: node.getString('cluster'),
          node: node.getString('node'),
          host: hostSpecSchema.parse({
            host: node.getString('host'),
            port: node.getOptionalNumber('port') ?? 22,
            username: node.getString('username'),
            hostPublicKey: node.getString('hostPublicKey'),
          }),
        }));
        const guestFiles = guestNodes.length ? pctExecGuestFiles(guestNodes, connect) : undefined;
        const verification = { manifests, guestFiles, restoreBridge: settings?.getOptionalString('restoreBridge') };
        const executor = new ReplicationExecutor({
          connect,
          s3Credentials: ref => {
            const entry = credentials?.getOptionalConfig(ref);
            if (!entry) throw new PermanentJobError(`No S3 credentials ${ref} in fediversity.replication.s3Credentials`);
            return { accessKeyId: entry.getString('accessKeyId'), secretAccessKey: entry.getString('secretAccessKey') };
          },
          postgresPassword: ref => {
            // Looked up as one key: a reference may hold dots, which a config path would descend into.
            const password = (postgresPasswords?.get<Record<string, unknown>>() ?? {})[ref];
            if (typeof password !== 'string') throw new PermanentJobError(`No password ${ref} in fediversity.replication.postgresPasswords`);
            return password;
          },
        });
        const kinds = {
          run: replicationRunJobKind(schedules, executor),
          restore: restoreJobKind(clusters, verification),
          restoreInPlace: restoreInPlaceJobKind(clusters, verification),
          drill: drillJobKind(clusters, drills, verification),
          backup: backupCreateJobKind(clusters, manifests, guestFiles),
        };
        jobKinds.addJobKind(...Object.values(kinds));

        const ticker = new ReplicationTicker({ schedules, jobs, kind: kinds.run, clock: systemClock });
        await scheduler.scheduleTask({
          id: 'fediversity-replication-tick',
          scope: 'global',
          frequency: { seconds: settings?.getOptionalNumber('tickSeconds') ?? 30 },
          timeout: { minutes: 1 },
          fn: async () => {
            const created = await ticker.tick();
            if (created.length) logger.info(`Enqueued ${created.length} replication run(s)`);
          },
        });
        const instances = new InstanceStore(knex);
        // Restore drills: the newest backup of every instance, restored to a scratch guest once a period.
        const drillHours = settings?.getOptionalNumber('drillIntervalHours') ?? 168;
        if (drillHours > 0) {
          const drillTicker = new DrillTicker({ instances, jobs, kind: kinds.drill, clock: systemClock, intervalMs: drillHours * 3_600_000 });
          await scheduler.scheduleTask({
            id: 'fediversity-restore-drills',
            scope: 'global',
            frequency: { hours: 1 },
            timeout: { minutes: 5 },
            initialDelay: { minutes: 5 },
            fn: async () => {
              const created = await drillTicker.tick();
              if (created.length) logger.info(`Enqueued ${created.length} restore drill(s)`);
            },
          });
        }
        httpRouter.use(
          createReplicationRouter({
            schedules,
            drills,
            manifests,
            instances,
            jobs,
            kinds,
            clusters,
            appDataClasses: async appRef => (await appDefinitions(appRef)).dataClasses,
            httpAuth,
            permissions,
          }),
        );
      },
    });
  },
});
