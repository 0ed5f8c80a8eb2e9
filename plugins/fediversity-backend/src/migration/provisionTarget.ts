import { ensureContainer, GuestAccess, lxcNetwork, PveClustersService } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { MigrationParams } from './params';

export interface ProvisionContext {
  jobId: string;
  provision: NonNullable<MigrationParams['provision']>;
  checkpoint: { vmid?: number; upid?: string };
  saveCheckpoint(checkpoint: { vmid?: number; upid?: string }): Promise<void>;
  signal: AbortSignal;
}

/** Creates (at most once) and starts the target guest. */
export interface TargetProvisioner {
  ensureTarget(ctx: ProvisionContext): Promise<{ vmid: number; node: string }>;
}

/**
 * The target guest on Proxmox: an LXC identified by the job's tag, created once, then started. It accepts
 * the portal's key (as guests the portal creates do) and takes its address by DHCP on `vmbr0`, where the
 * provision step looks it up.
 */
export function proxmoxTargetProvisioner(clusters: PveClustersService, guestAccess: Pick<GuestAccess, 'clientKey'>): TargetProvisioner {
  return {
    async ensureTarget(ctx) {
      const { provision } = ctx;
      const cluster = clusters.get(provision.cluster);
      const { client } = cluster;
      const { publicKey } = await guestAccess.clientKey(cluster);
      let known = { vmid: provision.vmid, ...ctx.checkpoint };
      const result = await ensureContainer(client, {
        node: provision.node,
        identityTags: ['fediversity', `migration-${ctx.jobId.slice(0, 8)}`],
        params: {
          ostemplate: provision.ostemplate,
          storage: provision.storage,
          rootfs: `${provision.storage}:${provision.diskGb}`,
          memory: provision.memoryMb,
          cores: provision.cores,
          unprivileged: true,
          'ssh-public-keys': publicKey,
          net0: lxcNetwork({ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }),
        },
        known,
        onVmidAllocated: async vmid => {
          // A planned VMID is part of the target's SSH endpoint: never fall back to another id.
          if (provision.vmid !== undefined && vmid !== provision.vmid) {
            throw new PermanentJobError(
              `The planned target VMID ${provision.vmid} was taken by another guest; plan the migration again`,
            );
          }
          known = { vmid };
          await ctx.saveCheckpoint(known);
        },
        onTaskStarted: async upid => {
          known = { ...known, upid };
          await ctx.saveCheckpoint(known);
        },
        signal: ctx.signal,
      });
      if (result.outcome !== 'exists') await client.waitForTask(result.upid, { signal: ctx.signal });
      const guest = { node: result.node, vmid: result.vmid, type: 'lxc' as const };
      const status = await client.getGuestStatus(guest, { signal: ctx.signal });
      if (status.status !== 'running') {
        const upid = await client.startGuest(guest, {}, { signal: ctx.signal });
        await client.waitForTask(upid, { signal: ctx.signal });
      }
      return { vmid: result.vmid, node: result.node };
    },
  };
}
