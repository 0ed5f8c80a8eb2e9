import { GuestConfigUpdate, GuestRef, PveClient, PveClustersService } from '@fediversity/plugin-fediversity-node';
import { StepContext } from '../jobs/types';
import { GuestLocation } from './params';

/*
 * Steps shared by restore and drill jobs. Each checkpoints what it learned before acting on it (the vmid before
 * the POST, the UPID right after), so a step that crashed waits for the task it started instead of starting another.
 */

interface RestoreCheckpoint {
  vmid?: number;
  upid?: string;
  startedAt?: number;
}

export function clientOf(clusters: PveClustersService, guest: GuestLocation): PveClient {
  return clusters.get(guest.cluster).client;
}

async function exists(client: PveClient, guest: GuestRef, signal: AbortSignal): Promise<boolean> {
  try {
    await client.getGuestStatus(guest, { signal });
    return true;
  } catch (error) {
    if ((error as { status?: number }).status === 500 || /does not exist|not exist/i.test(String(error))) return false;
    throw error;
  }
}

/** Restores `archive` into a new guest (or over `options.vmid` with force). Returns the vmid and when it began. */
export async function restoreArchive(
  ctx: StepContext<any>,
  client: PveClient,
  options: { node: string; archive: string; storage: string; vmid?: number; force?: boolean },
): Promise<{ vmid: number; startedAt: number; upid?: string }> {
  const saved = (ctx.checkpoint as RestoreCheckpoint | undefined) ?? {};
  const startedAt = saved.startedAt ?? ctx.clock.now();
  let vmid = saved.vmid ?? options.vmid;
  if (vmid === undefined) {
    vmid = await client.nextId(undefined, { signal: ctx.signal });
    await ctx.saveCheckpoint({ vmid, startedAt });
  }
  let upid = saved.upid;
  if (!upid) {
    if (!options.force && (await exists(client, { node: options.node, vmid, type: 'lxc' }, ctx.signal))) {
      // The POST went through before the crash: the guest is ours (its vmid was reserved in the checkpoint).
      await ctx.log(`Guest ${vmid} already exists from an earlier attempt`);
      return { vmid, startedAt };
    }
    upid = await client.restoreContainer(
      options.node,
      { vmid, archive: options.archive, storage: options.storage, force: options.force, unique: !options.force },
      { signal: ctx.signal },
    );
    await ctx.saveCheckpoint({ vmid, upid, startedAt });
  }
  await ctx.log(`Restoring ${options.archive} into ${vmid} (${upid})`);
  await client.waitForTask(upid, { signal: ctx.signal });
  return { vmid, startedAt, upid };
}

export async function ensureRunning(ctx: StepContext<any>, client: PveClient, guest: GuestRef): Promise<void> {
  const status = await client.getGuestStatus(guest, { signal: ctx.signal });
  if (status.status === 'running') return;
  await client.waitForTask(await client.startGuest(guest, {}, { signal: ctx.signal }), { signal: ctx.signal });
}

export async function ensureStopped(ctx: StepContext<any>, client: PveClient, guest: GuestRef): Promise<void> {
  const status = await client.getGuestStatus(guest, { signal: ctx.signal });
  if (status.status !== 'running') return;
  await client.waitForTask(await client.stopGuest(guest, {}, { signal: ctx.signal }), { signal: ctx.signal });
}

export async function removeGuest(ctx: StepContext<any>, client: PveClient, guest: GuestRef): Promise<void> {
  if (!(await exists(client, guest, ctx.signal))) return;
  await ensureStopped(ctx, client, guest);
  await client.waitForTask(await client.deleteGuest(guest, { purge: true, destroyUnreferencedDisks: true }, { signal: ctx.signal }), {
    signal: ctx.signal,
  });
}

const BRIDGE = /^[A-Za-z][A-Za-z0-9_.-]{0,15}$/;

export interface NetworkIsolation {
  /** `bridge`: moved to the restore bridge; `link-down`: every interface disconnected. */
  mode: 'bridge' | 'link-down';
  interfaces: Record<string, string>;
}

/** `name=eth0,bridge=vmbr0,ip=…` with `key=value` set (added when absent). */
function withOption(netSpec: string, key: string, value: string): string {
  const parts = netSpec.split(',').filter(part => part && !part.startsWith(`${key}=`));
  return [...parts, `${key}=${value}`].join(',');
}

/**
 * A restored copy carries the source guest's network configuration (static address, same bridge): started as it
 * is, it would answer on the live instance's address. Before its first start it is moved to the restore bridge
 * (an isolated network the portal reaches) or, without one, its interfaces are disconnected.
 */
export async function isolateRestoredGuest(
  ctx: StepContext<any>,
  client: PveClient,
  guest: GuestRef,
  bridge: string | undefined,
): Promise<NetworkIsolation> {
  if (bridge !== undefined && !BRIDGE.test(bridge)) throw new Error(`Invalid restore bridge ${JSON.stringify(bridge)}`);
  const config = (await client.getGuestConfig(guest, {}, { signal: ctx.signal })) as Record<string, unknown>;
  const interfaces: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!/^net\d+$/.test(key) || typeof value !== 'string') continue;
    interfaces[key] = bridge ? withOption(value, 'bridge', bridge) : withOption(value, 'link_down', '1');
  }
  if (Object.keys(interfaces).length) {
    await client.updateGuestConfig(guest, interfaces as GuestConfigUpdate, { digest: config.digest as string | undefined }, { signal: ctx.signal });
  }
  await ctx.log(bridge ? `Restored guest ${guest.vmid} moved to bridge ${bridge}` : `Restored guest ${guest.vmid} started disconnected (no restore bridge configured)`);
  return { mode: bridge ? 'bridge' : 'link-down', interfaces };
}
