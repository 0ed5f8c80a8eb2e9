import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { FediversityActionDeps, pickCluster } from './deps';
import { examples } from './backupSchedule.examples';
import { CATALOG_POLL_MAX_MS, waitForEntity } from './lib/catalog';

/** The backend's job kind for one vzdump of an instance's guest. */
export const INSTANCE_BACKUP_JOB_KIND = 'instance.backup';

export function createBackupScheduleAction(deps: FediversityActionDeps) {
  return createTemplateAction({
    id: 'fediversity:backup:schedule',
    description:
      'Enqueues the instance’s first backup (a vzdump job) in the fediversity backend’s job engine and returns at ' +
      'once with the job id: the backup runs in the backend, never inside the scaffolder task.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        entityRef: z => z.string().min(1).describe('The instance entity (fediversity:instance:register output)'),
        cluster: z => z.string().optional(),
        node: z => z.string().min(1),
        vmid: z => z.number().int().min(100),
        storage: z => z.string().optional().describe('Backup storage; by default the node’s first with backup content'),
        catalogTimeoutSeconds: z =>
          z.number().int().min(1).max(3600).default(300).describe('How long to wait for the entity to reach the catalog'),
      },
      output: {
        jobId: z => z.string(),
        jobStatus: z => z.string(),
        kind: z => z.string(),
      },
    },
    async handler(ctx) {
      const { input, signal } = ctx;
      const cluster = pickCluster(deps.clusters, input.cluster);
      const storage =
        input.storage ??
        (await cluster.client.listStorages(input.node, { content: ['backup'], enabled: true }, { signal }))[0]?.storage;
      if (!storage) throw new InputError(`storage: ${input.node} has no storage for backups`);
      const request = {
        kind: INSTANCE_BACKUP_JOB_KIND,
        entityRef: input.entityRef,
        params: { cluster: cluster.name, node: input.node, vmid: input.vmid, storage },
        idempotencyKey: `${ctx.task.id}:backup:${cluster.name}:${input.vmid}`,
      };
      if (ctx.isDryRun) {
        ctx.logger.info(`Dry run: would enqueue ${request.kind} of ${cluster.name}/${input.vmid} to ${storage}`);
        ctx.output('jobId', 'dry-run');
        ctx.output('jobStatus', 'dry-run');
        ctx.output('kind', request.kind);
        return;
      }
      const job = await ctx.checkpoint({
        key: `backup.${cluster.name}.${input.vmid}`,
        fn: async () => {
          // The job API authorises against the entity (its owners may run jobs), so it must be in the catalog.
          await waitForEntity(deps.catalog, input.entityRef, {
            credentials: await ctx.getInitiatorCredentials(),
            timeoutMs: (input.catalogTimeoutSeconds ?? 300) * 1000,
            // Local catalog reads are cheap, and the entity arrives within a second or two of being recorded (the
            // catalog's processing loop wakes every second): asking often keeps the task from idling after it has.
            pollInitialMs: deps.timing?.pollInitialMs ?? 100,
            maxIntervalMs: CATALOG_POLL_MAX_MS,
            logger: ctx.logger,
            signal,
          });
          const enqueued = await deps.backend.enqueueJob(request, await ctx.getInitiatorCredentials());
          return { id: enqueued.id, status: enqueued.status };
        },
      });
      ctx.logger.info(`Enqueued the first backup of ${input.entityRef} as job ${job.id} (${job.status}); it runs in the backend`);
      ctx.output('jobId', job.id);
      ctx.output('jobStatus', job.status);
      ctx.output('kind', request.kind);
    },
  });
}
