import { HostSpec } from '@fediversity/plugin-fediversity-common';
import { PermanentJobError } from '../jobs/errors';
import { CommandRunner } from '../replication/commandRunner';
import { HostConnector } from '../replication/hosts';
import { GuestLocation } from './params';

/** Commands inside a guest (or on a host that sees its file system) and where the guest's `/` is there. */
export interface GuestFiles {
  runner: CommandRunner;
  /** The guest's root directory as `runner` sees it: `/` inside the guest. */
  root: string;
  close(): void;
}

/** Opens file access to a guest; injected (Proxmox nodes over SSH in production, directories in tests). */
export type GuestFilesConnector = (guest: GuestLocation, signal: AbortSignal) => Promise<GuestFiles>;

/**
 * Runs argv inside a container through its Proxmox node: `pct exec <vmid> -- argv…`. pct passes the argv on
 * unchanged (no shell), so the per-argument quoting of the node's runner is all the quoting there is.
 */
export function pctExecRunner(node: CommandRunner, vmid: number): CommandRunner {
  if (!Number.isInteger(vmid) || vmid < 100) throw new Error(`Invalid vmid ${vmid}`);
  return {
    run: (argv, options) => node.run(['pct', 'exec', String(vmid), '--', ...argv], options),
  };
}

/** A Proxmox node the portal reaches over SSH, to run commands in its containers. */
export interface GuestNode {
  cluster: string;
  node: string;
  host: HostSpec;
}

/** Guest file access through the guest's Proxmox node: SSH to the node (pinned key), then `pct exec`. */
export function pctExecGuestFiles(nodes: readonly GuestNode[], connect: HostConnector): GuestFilesConnector {
  return async (guest, signal) => {
    const entry = nodes.find(n => n.cluster === guest.cluster && n.node === guest.node);
    if (!entry) throw new PermanentJobError(`No SSH access to node ${guest.cluster}/${guest.node} is configured (fediversity.replication.nodes)`);
    const connected = await connect(entry.host, signal);
    return { runner: pctExecRunner(connected.runner, guest.vmid), root: '/', close: () => connected.close() };
  };
}
