import { PveClustersService } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { JobKind } from '../jobs/types';
import { DrillStore } from './DrillStore';
import { clientOf, ensureRunning, ensureStopped, isolateRestoredGuest, NetworkIsolation, removeGuest, restoreArchive } from './guestSteps';
import { archiveVmidOf, DrillParams, drillParams, RestoreParams, restoreParams } from './params';
import { RestoreVerification, RestoreVerifyDeps, verifyRestore } from './verifyRestore';

/** How restores are verified beyond "it runs": manifests recorded with backups and file access to guests. */
export type RestoreVerificationOptions = Omit<RestoreVerifyDeps, 'clusters'>;

function failIfUnverified(verification: RestoreVerification): RestoreVerification {
  if (!verification.passed) throw new PermanentJobError(`The restore did not verify: ${verification.failures.join('; ')}`);
  return verification;
}

async function sourceHostname(clusters: PveClustersService, params: { guest: RestoreParams['guest'] }, signal: AbortSignal) {
  const config = await clientOf(clusters, params.guest)
    .getGuestConfig({ node: params.guest.node, vmid: params.guest.vmid, type: 'lxc' }, {}, { signal })
    .catch(() => undefined);
  return (config as { hostname?: string } | undefined)?.hostname;
}

function ownArchive(params: RestoreParams) {
  if (archiveVmidOf(params.volid) !== params.guest.vmid) {
    throw new PermanentJobError(`${params.volid} is not a backup of guest ${params.guest.vmid}`);
  }
}

/** `backup.restore`: a vzdump archive into a fresh guest, started and verified. The instance's guest is untouched. */
export function restoreJobKind(clusters: PveClustersService, verification: RestoreVerificationOptions = {}): JobKind<RestoreParams> {
  return {
    kind: 'backup.restore',
    title: 'Restore a backup to a fresh guest',
    params: restoreParams,
    locks: job => [`backup-restore:${job.params.guest.cluster}/${job.params.volid}`],
    steps: [
      {
        name: 'restore',
        async run(ctx) {
          ownArchive(ctx.job.params);
          const { guest, volid, storage, targetVmid } = ctx.job.params;
          return restoreArchive(ctx, clientOf(clusters, guest), { node: guest.node, archive: volid, storage, vmid: targetVmid });
        },
      },
      {
        name: 'isolate',
        title: 'Keep the copy off the live network (restore bridge, or disconnected)',
        async run(ctx) {
          const { vmid } = ctx.outputs.restore as { vmid: number };
          const { guest } = ctx.job.params;
          return isolateRestoredGuest(ctx, clientOf(clusters, guest), { node: guest.node, vmid, type: 'lxc' }, verification.restoreBridge);
        },
      },
      {
        name: 'start',
        async run(ctx) {
          const { vmid } = ctx.outputs.restore as { vmid: number };
          await ensureRunning(ctx, clientOf(clusters, ctx.job.params.guest), { node: ctx.job.params.guest.node, vmid, type: 'lxc' });
        },
      },
      {
        name: 'verify',
        async run(ctx) {
          const { vmid } = ctx.outputs.restore as { vmid: number };
          const { guest, volid, health } = ctx.job.params;
          const hostname = await sourceHostname(clusters, ctx.job.params, ctx.signal);
          const disconnected = (ctx.outputs.isolate as NetworkIsolation).mode === 'link-down';
          // A restore that does not verify fails, and its guest stays for inspection.
          return failIfUnverified(
            await verifyRestore(ctx, { clusters, ...verification }, { ...guest, vmid }, { backupId: volid, hostname, health, disconnected }),
          );
        },
      },
    ],
  };
}

/** `backup.restore-in-place`: overwrites the instance's own guest with a backup, only after a person confirms. */
export function restoreInPlaceJobKind(clusters: PveClustersService, verification: RestoreVerificationOptions = {}): JobKind<RestoreParams> {
  return {
    kind: 'backup.restore-in-place',
    title: 'Restore a backup over the instance guest (after confirmation)',
    params: restoreParams,
    locks: job => [`guest:${job.params.guest.cluster}/${job.params.guest.vmid}`],
    steps: [
      {
        name: 'check',
        async run(ctx) {
          ownArchive(ctx.job.params);
          return { hostname: await sourceHostname(clusters, ctx.job.params, ctx.signal) };
        },
      },
      { name: 'confirm', title: 'Confirm: the current state of the guest is replaced', approvalGate: true },
      {
        name: 'stop',
        async run(ctx) {
          const { guest } = ctx.job.params;
          await ensureStopped(ctx, clientOf(clusters, guest), { node: guest.node, vmid: guest.vmid, type: 'lxc' });
        },
      },
      {
        name: 'restore',
        async run(ctx) {
          const { guest, volid, storage } = ctx.job.params;
          return restoreArchive(ctx, clientOf(clusters, guest), { node: guest.node, archive: volid, storage, vmid: guest.vmid, force: true });
        },
      },
      {
        name: 'start',
        async run(ctx) {
          const { guest } = ctx.job.params;
          await ensureRunning(ctx, clientOf(clusters, guest), { node: guest.node, vmid: guest.vmid, type: 'lxc' });
        },
      },
      {
        name: 'verify',
        async run(ctx) {
          const { guest, volid, health } = ctx.job.params;
          const { hostname } = ctx.outputs.check as { hostname?: string };
          return failIfUnverified(await verifyRestore(ctx, { clusters, ...verification }, guest, { backupId: volid, hostname, health }));
        },
      },
    ],
  };
}

/**
 * `backup.drill`: restores the newest backup to a scratch guest, checks it (running, hostname, HTTP health,
 * file checksums against the backup's manifest), records the result with the measured recovery time (restore
 * start → verified) and recovery point (backup time), then removes the scratch guest. A drill whose checks fail
 * is recorded as failed, and its job fails after the scratch guest is gone. The scratch guest is removed when a
 * step fails too (compensation).
 */
export function drillJobKind(clusters: PveClustersService, drills: DrillStore, verification: RestoreVerificationOptions = {}): JobKind<DrillParams> {
  const scratchOf = (ctx: { job: { params: DrillParams } }, vmid: number) => ({ node: ctx.job.params.guest.node, vmid, type: 'lxc' as const });
  return {
    kind: 'backup.drill',
    title: 'Restore drill: newest backup to a scratch guest, measured, removed',
    params: drillParams,
    locks: job => [`backup-drill:${job.params.guest.cluster}/${job.params.guest.vmid}`],
    steps: [
      {
        name: 'pick',
        async run(ctx) {
          const { guest } = ctx.job.params;
          const client = clientOf(clusters, guest);
          const storages = await client.listStorages(guest.node, { content: ['backup'], enabled: true }, { signal: ctx.signal });
          const volumes = (
            await Promise.all(storages.map(s => client.listBackups(guest.node, s.storage, guest.vmid, { signal: ctx.signal })))
          ).flat();
          const newest = volumes.sort((a, b) => (b.ctime ?? 0) - (a.ctime ?? 0))[0];
          if (!newest) throw new PermanentJobError(`Guest ${guest.vmid} has no backup to drill`);
          return { volid: newest.volid, takenAt: newest.ctime ? newest.ctime * 1000 : undefined, hostname: await sourceHostname(clusters, ctx.job.params, ctx.signal) };
        },
      },
      {
        name: 'restore',
        async run(ctx) {
          const { volid } = ctx.outputs.pick as { volid: string };
          const { guest, storage } = ctx.job.params;
          return restoreArchive(ctx, clientOf(clusters, guest), { node: guest.node, archive: volid, storage });
        },
        async compensate(ctx) {
          const vmid = (ctx.checkpoint as { vmid?: number } | undefined)?.vmid;
          if (vmid !== undefined) await removeGuest(ctx, clientOf(clusters, ctx.job.params.guest), scratchOf(ctx, vmid));
        },
      },
      {
        name: 'isolate',
        title: 'Keep the scratch guest off the live network (restore bridge, or disconnected)',
        async run(ctx) {
          const { vmid } = ctx.outputs.restore as { vmid: number };
          return isolateRestoredGuest(ctx, clientOf(clusters, ctx.job.params.guest), scratchOf(ctx, vmid), verification.restoreBridge);
        },
      },
      {
        name: 'start',
        async run(ctx) {
          const { vmid } = ctx.outputs.restore as { vmid: number };
          await ensureRunning(ctx, clientOf(clusters, ctx.job.params.guest), scratchOf(ctx, vmid));
        },
      },
      {
        name: 'verify',
        async run(ctx) {
          const { vmid, startedAt } = ctx.outputs.restore as { vmid: number; startedAt: number };
          const { hostname, volid } = ctx.outputs.pick as { hostname?: string; volid: string };
          const { guest, health } = ctx.job.params;
          const disconnected = (ctx.outputs.isolate as NetworkIsolation).mode === 'link-down';
          const checks = await verifyRestore(ctx, { clusters, ...verification }, { ...guest, vmid }, { backupId: volid, hostname, health, disconnected });
          return { checks, verifiedAt: ctx.clock.now(), recoveryTimeMs: ctx.clock.now() - startedAt };
        },
      },
      {
        name: 'record',
        async run(ctx) {
          const pick = ctx.outputs.pick as { volid: string; takenAt?: number };
          const verify = ctx.outputs.verify as { checks: RestoreVerification; verifiedAt: number; recoveryTimeMs: number };
          const result = verify.checks.passed ? 'passed' : 'failed';
          const record = await drills.record({
            entityRef: ctx.job.entityRef,
            jobId: ctx.job.id,
            backupId: pick.volid,
            recoveryPointAt: pick.takenAt,
            recoveryTimeMs: verify.recoveryTimeMs,
            result,
            detail: { ...verify.checks, backupAgeMs: pick.takenAt ? verify.verifiedAt - pick.takenAt : undefined },
            finishedAt: ctx.clock.now(),
          });
          await ctx.log(
            `Drill ${result}: recovery time ${record.recoveryTimeMs} ms${result === 'failed' ? ` (${verify.checks.failures.join('; ')})` : ''}`,
            { backup: pick.volid },
            result === 'passed' ? 'info' : 'error',
          );
          return { drillId: record.id, result, recoveryTimeMs: record.recoveryTimeMs, recoveryPointAt: record.recoveryPointAt };
        },
      },
      {
        name: 'remove',
        title: 'Remove the scratch guest',
        async run(ctx) {
          const { vmid } = ctx.outputs.restore as { vmid: number };
          await removeGuest(ctx, clientOf(clusters, ctx.job.params.guest), scratchOf(ctx, vmid));
        },
      },
      {
        name: 'conclude',
        title: 'Fail the job when the drill failed (it is recorded either way)',
        async run(ctx) {
          const { checks } = ctx.outputs.verify as { checks: RestoreVerification };
          if (!checks.passed) throw new PermanentJobError(`Restore drill failed: ${checks.failures.join('; ')}`);
          return { result: 'passed' };
        },
      },
    ],
  };
}
