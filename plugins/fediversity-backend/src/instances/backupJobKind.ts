import { PveClustersService, TaskResult } from '@fediversity/plugin-fediversity-node';
import { z } from 'zod';
import { JobKind } from '../jobs/types';

const PVE_ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

export const instanceBackupParams = z
  .object({
    cluster: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/),
    node: z.string().regex(PVE_ID),
    vmid: z.number().int().min(100).max(999_999_999),
    /** A storage of the node with `backup` content. */
    storage: z.string().regex(PVE_ID),
    /** vzdump's prune setting for this guest's backups on that storage. */
    prune: z.string().regex(/^keep-[a-z]+=\d{1,4}(?:,keep-[a-z]+=\d{1,4})*$/).default('keep-last=3,keep-daily=7'),
  })
  .strict();

export type InstanceBackupParams = z.infer<typeof instanceBackupParams>;

/**
 * `instance.backup`: one vzdump of an instance's guest (snapshot mode, zstd). Provisioning enqueues it as the
 * instance's first backup; the UPID is checkpointed right after the POST, so a crashed run waits for the task it
 * started instead of starting another, and a run that crashed before the POST finds the archive by its notes.
 */
export function instanceBackupJobKind(clusters: PveClustersService): JobKind<InstanceBackupParams> {
  return {
    kind: 'instance.backup',
    title: 'Back up the instance guest (vzdump)',
    params: instanceBackupParams,
    locks: job => [`guest:${job.params.cluster}/${job.params.vmid}`],
    steps: [
      {
        name: 'vzdump',
        title: 'Run vzdump and wait for it',
        idempotent: false,
        async reconcile(ctx) {
          const saved = ctx.checkpoint as { upid?: string } | undefined;
          if (saved?.upid) return { done: false };
          const { client } = clusters.get(ctx.job.params.cluster);
          const backups = await client.listBackups(ctx.job.params.node, ctx.job.params.storage, ctx.job.params.vmid, {
            signal: ctx.signal,
          });
          const mine = backups.find(volume => volume.notes?.includes(notesMarker(ctx.job.id)));
          return mine ? { done: true, output: { volid: mine.volid } } : { done: false };
        },
        async run(ctx) {
          const { cluster, node, vmid, storage, prune } = ctx.job.params;
          const { client } = clusters.get(cluster);
          let upid = (ctx.checkpoint as { upid?: string } | undefined)?.upid;
          if (!upid) {
            upid = await client.vzdump(
              node,
              {
                vmids: [vmid],
                storage,
                mode: 'snapshot',
                compress: 'zstd',
                'prune-backups': prune,
                'notes-template': `{{guestname}} ${notesMarker(ctx.job.id)}`,
              },
              { signal: ctx.signal },
            );
            await ctx.saveCheckpoint({ upid });
          }
          await ctx.log(`vzdump of ${cluster}/${vmid} running as ${upid}`);
          const result: TaskResult = await client.waitForTask(upid, { signal: ctx.signal });
          const backups = await client.listBackups(node, storage, vmid, { signal: ctx.signal });
          const volid = backups.find(volume => volume.notes?.includes(notesMarker(ctx.job.id)))?.volid;
          return { upid, exitstatus: result.exitstatus, volid };
        },
      },
    ],
  };
}

function notesMarker(jobId: string): string {
  return `fediversity-job-${jobId}`;
}
