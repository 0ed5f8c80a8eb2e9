import { instanceDecommissionPermission } from '@fediversity/plugin-fediversity-common';
import { GuestRef, PveClustersService } from '@fediversity/plugin-fediversity-node';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { PermanentJobError } from '../jobs/errors';
import type { JobStore } from '../jobs/JobStore';
import { JobRecord } from '../jobs/records';
import { JobKind, RetryPolicy, StepContext } from '../jobs/types';
import { destroyGuestOnce, guestStatusOrGone, stopGuestOnce } from './guestTasks';
import { HostConnector } from './hosts';
import { MIGRATION_JOB_KIND } from './migrationJobKind';
import { GuestLocation, guestLocationSchema, MigrationJobParams, migrationJobParamsSchema } from './params';
import { dropReplicationLeftovers, DropOutcome, replicationLeftovers } from './replicationLeftovers';

export const DECOMMISSION_JOB_KIND = 'instance.decommission';

export const decommissionParamsSchema = z
  .object({
    /** The completed `instance.migrate` job whose source is removed. */
    migrationJobId: z.string().uuid(),
    /** Must be the source guest that migration recorded (checked again before anything is touched). */
    sourceGuest: guestLocationSchema,
    /** How long the approval may wait; then the job is cancelled with nothing changed. Default 7 days. */
    approvalTimeoutSeconds: z.number().int().min(60).max(30 * 86_400).default(7 * 86_400),
  })
  .strict();

export type DecommissionParams = z.infer<typeof decommissionParamsSchema>;

export interface DecommissionDeps {
  jobs: Pick<JobStore, 'getJob'>;
  connect: HostConnector;
  clusters: PveClustersService;
  retry?: RetryPolicy;
}

type Ctx = StepContext<DecommissionParams>;

/** What the approver sees (the `check` step's output and event). */
export interface DecommissionPlan {
  migrationJobId: string;
  guest: GuestLocation & { name?: string; status: string };
  sourceHost: string;
  replication: { slots: string[]; publication: string; databases: string[] } | 'none';
}

/**
 * The migration a decommission refers to, if it may be decommissioned: an `instance.migrate` job of the same
 * entity that succeeded (so the target serves) and recorded exactly this source guest, which is not its target.
 * Throws PermanentJobError (the job) or returns the reason (the route, for a 409).
 */
export function checkDecommissionable(
  migration: JobRecord | undefined,
  request: { entityRef: string; sourceGuest?: GuestLocation },
): { ok: true; params: MigrationJobParams } | { ok: false; reason: string } {
  if (!migration || migration.kind !== MIGRATION_JOB_KIND) return { ok: false, reason: 'no such migration job' };
  if (migration.entityRef !== request.entityRef) return { ok: false, reason: 'the migration moved another entity' };
  if (migration.status !== 'succeeded') {
    return { ok: false, reason: `the migration has not completed (it is ${migration.status})` };
  }
  const parsed = migrationJobParamsSchema.safeParse(migration.params);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(issue => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    return { ok: false, reason: `the migration job has parameters this backend cannot read (${issues})` };
  }
  const params = parsed.data;
  if (!params.sourceGuest) return { ok: false, reason: 'the migration did not record its source guest' };
  if (request.sourceGuest && !isDeepStrictEqual(request.sourceGuest, params.sourceGuest)) {
    return { ok: false, reason: 'the guest is not the source the migration recorded' };
  }
  const target = params.provision;
  if (target && target.cluster === params.sourceGuest.cluster && target.vmid === params.sourceGuest.vmid) {
    return { ok: false, reason: 'the recorded source guest is the migration target' };
  }
  return { ok: true, params };
}

/**
 * `instance.decommission`: removes what a completed migration kept of the source. check (read-only: what will be
 * destroyed) → approval → drop the replication slots/publication left on the source database → stop the source
 * guest → destroy it (point of no return) → record the outcome. Each Proxmox task's UPID is checkpointed as soon as
 * it is known and a replay waits for it instead of starting another; nothing is compensated (a stopped source is
 * deliberately not restarted: it holds the pre-migration copy of the instance and would serve stale data).
 */
export function decommissionJobKind(deps: DecommissionDeps): JobKind<DecommissionParams> {
  async function migrationOf(ctx: Ctx): Promise<MigrationJobParams> {
    const verdict = checkDecommissionable(await deps.jobs.getJob(ctx.job.params.migrationJobId), {
      entityRef: ctx.job.entityRef,
      sourceGuest: ctx.job.params.sourceGuest,
    });
    if (!verdict.ok) throw new PermanentJobError(`Cannot decommission: ${verdict.reason}`);
    return verdict.params;
  }

  const guestOf = (ctx: Ctx) => {
    const { cluster, node, vmid } = ctx.job.params.sourceGuest;
    const guest: GuestRef = { node, vmid, type: 'lxc' };
    return { client: deps.clusters.get(cluster).client, guest, label: `${cluster}/${node}/${vmid}` };
  };

  const taskCheckpoint = (ctx: Ctx) => ({
    checkpoint: ctx.checkpoint as { upid?: string } | undefined,
    saveCheckpoint: (value: { upid: string }) => ctx.saveCheckpoint(value),
    signal: ctx.signal,
  });

  return {
    kind: DECOMMISSION_JOB_KIND,
    title: 'Decommission the source of a completed migration (irreversible)',
    params: decommissionParamsSchema,
    permission: instanceDecommissionPermission,
    locks: job => [
      `guest:${job.params.sourceGuest.cluster}/${job.params.sourceGuest.vmid}`,
      `decommission:${job.params.migrationJobId}`,
    ],
    retry: deps.retry,
    steps: [
      {
        name: 'check',
        title: 'Check the migration and show what will be destroyed',
        run: async (ctx): Promise<DecommissionPlan> => {
          const params = await migrationOf(ctx);
          const { client, guest, label } = guestOf(ctx);
          const status = await guestStatusOrGone(client, guest, ctx.signal);
          const plan: DecommissionPlan = {
            migrationJobId: ctx.job.params.migrationJobId,
            guest: { ...ctx.job.params.sourceGuest, name: status?.name, status: status?.status ?? 'gone' },
            sourceHost: `${params.source.host}:${params.source.port}`,
            replication: params.source.postgres
              ? replicationLeftovers(ctx.job.params.migrationJobId, params.postgresDatabases)
              : 'none',
          };
          await ctx.log(
            `On approval: drop the migration's replication slots/publication on the source, then stop and destroy ` +
              `guest ${label}${status?.name ? ` (${status.name})` : ''} with its volumes`,
            { ...plan },
            'warn',
          );
          return plan;
        },
      },
      {
        name: 'approve-destroy',
        title: 'Approve destroying the source guest (irreversible)',
        approvalGate: true,
        timeoutMs: params => params.approvalTimeoutSeconds * 1000,
        timeoutOutcome: 'nothing was changed; the source guest is kept',
      },
      {
        name: 'drop-replication',
        title: 'Drop replication slots and publications left on the source',
        run: async ctx => {
          const saved = ctx.checkpoint as { outcome?: DropOutcome } | undefined;
          if (saved?.outcome) return saved.outcome;
          const params = await migrationOf(ctx);
          const { client, guest } = guestOf(ctx);
          const status = await guestStatusOrGone(client, guest, ctx.signal);
          const outcome: DropOutcome =
            status?.status === 'running'
              ? await dropReplicationLeftovers({
                  migrationJobId: ctx.job.params.migrationJobId,
                  params,
                  connect: deps.connect,
                  signal: ctx.signal,
                })
              : { skipped: 'the source guest is not running; its slots go with it' };
          await ctx.saveCheckpoint({ outcome });
          if ('activeSlots' in outcome && outcome.activeSlots.length) {
            await ctx.log(`Slots still in use were left: ${outcome.activeSlots.join(', ')}`, {}, 'warn');
          }
          await ctx.log('Replication leftovers handled', { ...outcome });
          return outcome;
        },
      },
      {
        name: 'stop-source',
        title: 'Stop the source guest',
        run: async ctx => {
          const { client, guest, label } = guestOf(ctx);
          const { upid } = await stopGuestOnce(client, guest, taskCheckpoint(ctx));
          await ctx.log(upid ? `Stopped guest ${label}` : `Guest ${label} was not running`, upid ? { upid } : {});
          return { upid };
        },
      },
      {
        name: 'destroy-source',
        title: 'Destroy the source guest and its volumes',
        pointOfNoReturn: true,
        reconcile: async ctx => {
          const { client, guest } = guestOf(ctx);
          return (await guestStatusOrGone(client, guest, ctx.signal)) === undefined
            ? { done: true, output: { upid: (ctx.checkpoint as { upid?: string } | undefined)?.upid } }
            : { done: false };
        },
        run: async ctx => {
          const { client, guest, label } = guestOf(ctx);
          const shown = (ctx.outputs.check as DecommissionPlan).guest.name;
          const status = await guestStatusOrGone(client, guest, ctx.signal);
          // A VMID can be reused: destroy only the guest the approver saw.
          if (status && shown !== undefined && status.name !== shown) {
            throw new PermanentJobError(`Guest ${label} is now ${status.name}, not ${shown} as approved; nothing destroyed`);
          }
          const { upid } = await destroyGuestOnce(client, guest, taskCheckpoint(ctx));
          if (await guestStatusOrGone(client, guest, ctx.signal)) throw new Error(`Guest ${label} still exists after ${upid}`);
          await ctx.log(`Destroyed guest ${label}`, upid ? { upid } : {});
          return { upid };
        },
      },
      {
        name: 'record',
        title: 'Record the outcome',
        run: async ctx => {
          const outcome = {
            migrationJobId: ctx.job.params.migrationJobId,
            destroyed: ctx.job.params.sourceGuest,
            replication: ctx.outputs['drop-replication'],
            decommissionedAt: new Date(ctx.clock.now()).toISOString(),
          };
          await ctx.log('Source decommissioned', outcome);
          return outcome;
        },
      },
    ],
  };
}
