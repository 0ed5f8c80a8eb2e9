import { PveClustersService } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { JobKind, StepContext } from '../jobs/types';
import { GuestFiles, GuestFilesConnector } from './guestFiles';
import { clientOf } from './guestSteps';
import { computeManifest, FileManifest } from './manifest';
import { ManifestStore } from './ManifestStore';
import { BackupCreateParams, backupCreateParams } from './params';

interface BackupCheckpoint {
  upid: string;
  manifest: FileManifest;
  takenAt: number;
}

function notesMarker(jobId: string): string {
  return `fediversity-backup-${jobId}`;
}

async function unquiesce(ctx: StepContext<BackupCreateParams>, files: GuestFiles) {
  for (const argv of ctx.job.params.unquiesce) {
    // Even when cancelled: the app must not stay stopped because of the backup.
    await files.runner.run(argv, {}).catch(error => ctx.log(`Unquiesce ${argv[0]} failed: ${(error as Error).message}`, {}, 'warn'));
  }
}

/**
 * `backup.create`: a vzdump of the instance guest with a file manifest (sha256 per file of the backed-up
 * directories) recorded under the archive's volid, so a later restore or drill is verified file by file.
 * The app is quiesced from before the manifest until vzdump finished, so both see the same files; without
 * quiesce commands only directories that do not change while the app runs verify reliably.
 * The UPID and the manifest are checkpointed right after the POST: a retried step waits for that task instead of
 * starting another (and unquiesces again, in case the crash came before it did).
 */
export function backupCreateJobKind(
  clusters: PveClustersService,
  manifests: ManifestStore,
  guestFiles: GuestFilesConnector | undefined,
): JobKind<BackupCreateParams> {
  return {
    kind: 'backup.create',
    title: 'Back up the instance guest with a file manifest',
    params: backupCreateParams,
    locks: job => [`guest:${job.params.guest.cluster}/${job.params.guest.vmid}`],
    steps: [
      {
        name: 'backup',
        title: 'Quiesce, record checksums, vzdump, unquiesce',
        idempotent: false,
        async run(ctx) {
          if (!guestFiles) throw new PermanentJobError('No file access to guests is configured (fediversity.replication.nodes)');
          const { guest, storage, directories, prune } = ctx.job.params;
          const client = clientOf(clusters, guest);
          const files = await guestFiles(guest, ctx.signal);
          try {
            let saved = ctx.checkpoint as BackupCheckpoint | undefined;
            if (!saved) {
              for (const argv of ctx.job.params.quiesce) await files.runner.run(argv, { signal: ctx.signal });
              try {
                const manifest = await computeManifest(files.runner, files.root, directories, ctx.signal);
                const takenAt = ctx.clock.now();
                const upid = await client.vzdump(
                  guest.node,
                  {
                    vmids: [guest.vmid],
                    storage,
                    mode: 'snapshot',
                    compress: 'zstd',
                    ...(prune ? { 'prune-backups': prune } : {}),
                    'notes-template': `{{guestname}} ${notesMarker(ctx.job.id)}`,
                  },
                  { signal: ctx.signal },
                );
                saved = { upid, manifest, takenAt };
                await ctx.saveCheckpoint(saved);
                await ctx.log(`vzdump of ${guest.cluster}/${guest.vmid} running as ${upid}`, { files: Object.keys(manifest).length });
                await client.waitForTask(upid, { signal: ctx.signal });
              } finally {
                await unquiesce(ctx, files);
              }
            } else {
              await client.waitForTask(saved.upid, { signal: ctx.signal });
              await unquiesce(ctx, files);
            }
            const volumes = await client.listBackups(guest.node, storage, guest.vmid, { signal: ctx.signal });
            const volid = volumes.find(volume => volume.notes?.includes(notesMarker(ctx.job.id)))?.volid;
            if (!volid) throw new Error(`vzdump ${saved.upid} finished but no archive on ${storage} carries its notes`);
            await manifests.record({
              backupId: volid,
              entityRef: ctx.job.entityRef,
              jobId: ctx.job.id,
              directories,
              files: saved.manifest,
              takenAt: saved.takenAt,
            });
            return { volid, upid: saved.upid, files: Object.keys(saved.manifest).length };
          } finally {
            files.close();
          }
        },
      },
    ],
  };
}
