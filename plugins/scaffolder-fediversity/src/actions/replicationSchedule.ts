import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, isError, NotFoundError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { DataClass, dataClassesSchema } from '@fediversity/plugin-fediversity-common';
import { CreatedSchedule } from '../lib/backendClient';
import { installReplicationPeerKey } from '../lib/replicationPeerKey';
import { directoryDataClasses, planReplication, PlannedSchedule, withPeerIdentityFile } from '../lib/replicationPlan';
import { parseReplicationTarget, ReplicationTarget } from '../lib/replicationTarget';
import { FediversityActionDeps, pickCluster } from './deps';
import { CATALOG_POLL_MAX_MS, waitForEntity } from './lib/catalog';
import { examples } from './replicationSchedule.examples';

/**
 * The demo replication target on the embedded default: a demo guest on the demo host server. PVE hands out
 * VMIDs from 100 up, so no simulated guest is ever `ct-99`.
 */
export const DEMO_REPLICA_VMID = 99;
const DEMO_REPLICA_ROOT = '/var/lib/fediversity-replicas';

export function createReplicationScheduleAction(deps: FediversityActionDeps) {
  return createTemplateAction({
    id: 'fediversity:replication:schedule',
    description:
      'Creates the instance’s replication schedules in the fediversity backend, one per data class of its app ' +
      'definition (files: quiesce + rsync; PostgreSQL: a streaming standby), towards the configured replication ' +
      'target (fediversity.provisioning.replicationTarget; on demo clusters a demo replica host). Data classes ' +
      'that need more facts (S3 buckets, ZFS datasets) are listed as skipped, with the reason. Runs happen in the ' +
      'backend, never inside the scaffolder task.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        entityRef: z => z.string().min(1).describe('The instance entity (fediversity:instance:register output)'),
        app: z => z.string().min(1).optional().describe('App definition whose spec.dataClasses are replicated'),
        directories: z =>
          z
            .array(z.string().regex(/^\/[A-Za-z0-9._@+/-]*$/, 'must be an absolute plain path'))
            .max(16)
            .default([])
            .describe('Without an app: directories to copy (one schedule each)'),
        cluster: z => z.string().optional(),
        vmid: z => z.number().int().min(100),
        ipv4: z => z.string().optional().describe('The guest’s address (a PostgreSQL standby connects to it)'),
        ssh: z =>
          z
            .object({ host: z.string().min(1), port: z.number().int().min(1).max(65535), username: z.string().min(1), hostKey: z.string().min(16) })
            .describe('How replication runs reach the guest: fediversity:guest:awaitReachable output'),
        intervalSeconds: z => z.number().int().min(60).max(7 * 86_400).default(3600).describe('How often each schedule runs'),
        target: z => z.record(z.unknown()).optional().describe('Replication target; the configured one by default'),
        catalogTimeoutSeconds: z =>
          z.number().int().min(1).max(3600).default(300).describe('How long to wait for the entity to reach the catalog'),
      },
      output: {
        schedules: z =>
          z.array(z.object({ dataClass: z.string(), id: z.string(), strategy: z.string(), intervalSeconds: z.number() })),
        skipped: z => z.array(z.object({ dataClass: z.string(), reason: z.string() })),
        target: z => z.string().describe('user@host:port of the target, or why there is none'),
      },
    },
    async handler(ctx) {
      const { input, signal } = ctx;
      const cluster = pickCluster(deps.clusters, input.cluster);
      const entityRef = normalizeRef(input.entityRef, 'component', 'entityRef');
      const intervalSeconds = input.intervalSeconds ?? 3600;
      const credentials = await ctx.getInitiatorCredentials();
      const dataClasses = input.app
        ? await appDataClasses(deps, normalizeRef(input.app, 'component', 'app'), credentials)
        : directoryDataClasses(input.directories ?? []);

      if (dataClasses.length === 0) {
        ctx.logger.info(`replication: ${entityRef} declares no data to replicate (no app, no directories)`);
        ctx.output('schedules', []);
        ctx.output('skipped', []);
        ctx.output('target', 'none: nothing to replicate');
        return;
      }

      // Recorded: a replay points the schedules where the first run did, even if the configuration changed meanwhile.
      const { target } = await ctx.checkpoint({
        key: `replication.${entityRef}.target`,
        fn: async (): Promise<{ target?: ReplicationTarget }> => {
          if (input.target) return { target: parseReplicationTarget(input.target, 'target') };
          if (deps.replicationTarget) return { target: deps.replicationTarget };
          if (!cluster.demo) return {};
          if (ctx.isDryRun) {
            return { target: demoReplica({ host: '127.0.0.1', port: 22, username: `ct-${DEMO_REPLICA_VMID}`, hostKey: 'ssh-ed25519 AAAA' }) };
          }
          return { target: demoReplica(await deps.guestAccess.prepare(cluster, { vmid: DEMO_REPLICA_VMID, hostname: 'replica' })) };
        },
      });
      if (!target) {
        const reason = 'no replication target configured (fediversity.provisioning.replicationTarget)';
        ctx.logger.warn(`replication: skipped, ${reason}: ${entityRef} has no replication schedule`);
        ctx.output('schedules', []);
        ctx.output('skipped', dataClasses.map(dataClass => ({ dataClass: dataClass.name, reason })));
        ctx.output('target', `none: ${reason}`);
        return;
      }

      const plan = planReplication({
        instance: parseEntityRef(entityRef).name,
        vmid: input.vmid,
        dataClasses,
        source: { ...input.ssh, address: input.ipv4 || undefined },
        target,
      });
      const targetName = `${target.username}@${target.host}:${target.port}`;
      for (const { dataClass, reason } of plan.skipped) ctx.logger.info(`replication: ${dataClass} not scheduled: ${reason}`);
      for (const { dataClass, note } of plan.schedules) if (note) ctx.logger.info(`replication: ${dataClass} ${note}`);
      ctx.output('skipped', plan.skipped);
      ctx.output('target', targetName);

      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would schedule ${plan.schedules.map(s => `${s.dataClass} (${s.strategy})`).join(', ') || 'nothing'} ` +
            `every ${intervalSeconds} s towards ${targetName}`,
        );
        ctx.output('schedules', plan.schedules.map(s => ({ dataClass: s.dataClass, id: 'dry-run', strategy: s.strategy, intervalSeconds })));
        return;
      }

      // The schedule API authorises against the entity (its owners may change schedules), so it must be in the
      // catalog; the replica's key is installed meanwhile, as both take a moment and neither needs the other.
      const inCatalog =
        plan.schedules.length > 0
          ? waitForEntity(deps.catalog, entityRef, {
              credentials,
              timeoutMs: (input.catalogTimeoutSeconds ?? 300) * 1000,
              pollInitialMs: deps.timing?.pollInitialMs ?? 100,
              maxIntervalMs: CATALOG_POLL_MAX_MS,
              logger: ctx.logger,
              signal,
            })
          : Promise.resolve();
      let schedules = plan.schedules;
      const toDemoReplica = !input.target && !deps.replicationTarget && cluster.demo;
      if (toDemoReplica && schedules.some(schedule => schedule.strategy === 'rsync')) {
        // The guest pushes its files to the replica, so it needs a key the replica accepts; a configured target's
        // trust is the operator's (its guests' keys come with their NixOS configuration).
        const [{ identityFile }] = await Promise.all([
          ctx.checkpoint({
            key: `replication.${entityRef}.peerKey`,
            fn: async () => {
              const { privateKey } = await deps.guestAccess.clientKey(cluster);
              const installed = await installReplicationPeerKey(
                { ...input.ssh, privateKey },
                { host: target.host, port: target.port, username: target.username, hostKey: target.hostPublicKey, privateKey },
                `fediversity-replication-${parseEntityRef(entityRef).name}`,
              );
              return { identityFile: installed };
            },
          }),
          inCatalog,
        ]);
        ctx.logger.info(`replication: ${entityRef} pushes to ${targetName} with its own key (${identityFile} on the guest)`);
        schedules = withPeerIdentityFile(schedules, identityFile);
      } else {
        await inCatalog;
      }

      const created: CreatedSchedule[] = [];
      for (const planned of schedules) {
        const schedule = await ctx.checkpoint({
          key: `replication.${entityRef}.${planned.dataClass}`,
          fn: () => createOrAdopt(deps, entityRef, planned, intervalSeconds, credentials),
        });
        ctx.logger.info(
          `Scheduled ${schedule.dataClass} replication (${schedule.strategy}, every ${schedule.intervalSeconds} s) ` +
            `to ${targetName}: schedule ${schedule.id}; runs happen in the backend`,
        );
        created.push(schedule);
      }
      ctx.output(
        'schedules',
        created.map(({ dataClass, id, strategy, intervalSeconds: interval }) => ({ dataClass, id, strategy, intervalSeconds: interval })),
      );
    },
  });
}

/** POST, or (a replay after a crash between the POST and its checkpoint) the schedule the first POST made. */
async function createOrAdopt(
  deps: FediversityActionDeps,
  entityRef: string,
  planned: PlannedSchedule,
  intervalSeconds: number,
  credentials: BackstageCredentials,
): Promise<CreatedSchedule> {
  try {
    const created = await deps.backend.createSchedule(
      { entityRef, dataClass: planned.dataClass, strategy: planned.strategy, intervalSeconds, params: planned.params },
      credentials,
    );
    return pick(created);
  } catch (error) {
    if (!(isError(error) && (error as { statusCode?: number }).statusCode === 409)) throw error;
    const existing = (await deps.backend.listSchedules(entityRef, credentials)).find(s => s.dataClass === planned.dataClass);
    if (!existing) throw error;
    return pick(existing);
  }
}

function pick({ id, entityRef, dataClass, strategy, intervalSeconds }: CreatedSchedule): CreatedSchedule {
  return { id, entityRef, dataClass, strategy, intervalSeconds };
}

async function appDataClasses(
  deps: FediversityActionDeps,
  appRef: string,
  credentials: BackstageCredentials,
): Promise<DataClass[]> {
  const app = await deps.catalog.getEntityByRef(appRef, { credentials });
  if (!app) throw new NotFoundError(`app: ${appRef} is not in the catalog`);
  const parsed = dataClassesSchema.safeParse((app.spec as { dataClasses?: unknown } | undefined)?.dataClasses);
  if (!parsed.success) {
    throw new InputError(`app: ${appRef} has invalid spec.dataClasses: ${parsed.error.issues.map(i => i.message).join('; ')}`);
  }
  return parsed.data;
}

function demoReplica(endpoint: { host: string; port: number; username: string; hostKey?: string }): ReplicationTarget {
  if (!endpoint.hostKey) throw new Error('The demo host server did not say its host key');
  return parseReplicationTarget(
    { host: endpoint.host, port: endpoint.port, username: endpoint.username, hostPublicKey: endpoint.hostKey.split(' ').slice(0, 2).join(' '), root: DEMO_REPLICA_ROOT },
    'demo replica',
  );
}

function normalizeRef(ref: string, defaultKind: string, field: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref, { defaultKind, defaultNamespace: 'default' }));
  } catch (error) {
    throw new InputError(`${field}: ${(error as Error).message}`);
  }
}
