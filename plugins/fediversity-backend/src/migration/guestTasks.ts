import { GuestRef, GuestStatus, PveClient, PveError } from '@fediversity/plugin-fediversity-node';

/** What a step hands over so a Proxmox task it starts is started at most once across crashes. */
export interface TaskCheckpoint {
  checkpoint: { upid?: string } | undefined;
  saveCheckpoint(checkpoint: { upid: string }): Promise<void>;
  signal: AbortSignal;
}

type Client = Pick<PveClient, 'getGuestStatus' | 'listTasks' | 'waitForTask' | 'stopGuest' | 'deleteGuest'>;

/** The guest's status, or undefined when it no longer exists. */
export async function guestStatusOrGone(client: Client, guest: GuestRef, signal?: AbortSignal): Promise<GuestStatus | undefined> {
  try {
    return await client.getGuestStatus(guest, { signal });
  } catch (error) {
    if (error instanceof PveError && error.isNotFound) return undefined;
    throw error;
  }
}

/**
 * Runs a guest task (stop, destroy) at most once, check-then-act:
 * 1. a UPID saved by an earlier run is awaited, never started again;
 * 2. if the guest is already where the task would take it, nothing is started;
 * 3. a task of that type still running for the guest (a run that crashed between its POST and its checkpoint)
 *    is awaited instead of starting another;
 * 4. otherwise the task is started, its UPID checkpointed at once, and awaited (the client's polling backoff).
 */
async function runGuestTaskOnce(
  client: Client,
  guest: GuestRef,
  task: { type: string; done(status: GuestStatus | undefined): boolean; start(): Promise<string> },
  ctx: TaskCheckpoint,
): Promise<{ upid?: string }> {
  const { signal } = ctx;
  const saved = ctx.checkpoint?.upid;
  if (saved) {
    await client.waitForTask(saved, { signal });
    return { upid: saved };
  }
  if (task.done(await guestStatusOrGone(client, guest, signal))) return {};
  const [active] = await client.listTasks(guest.node, { vmid: guest.vmid, typefilter: task.type, source: 'active' }, { signal });
  const upid = active?.upid ?? (await task.start());
  await ctx.saveCheckpoint({ upid });
  await client.waitForTask(upid, { signal });
  return { upid };
}

/** Hard-stops the guest unless it is stopped already. */
export function stopGuestOnce(client: Client, guest: GuestRef, ctx: TaskCheckpoint): Promise<{ upid?: string }> {
  return runGuestTaskOnce(
    client,
    guest,
    {
      type: 'vzstop',
      done: status => status === undefined || status.status === 'stopped',
      start: () => client.stopGuest(guest, {}, { signal: ctx.signal }),
    },
    ctx,
  );
}

/** Destroys the (stopped) guest with its volumes and its entries in backup jobs, HA and replication. */
export function destroyGuestOnce(client: Client, guest: GuestRef, ctx: TaskCheckpoint): Promise<{ upid?: string }> {
  return runGuestTaskOnce(
    client,
    guest,
    {
      type: 'vzdestroy',
      done: status => status === undefined,
      start: () => client.deleteGuest(guest, { purge: true, destroyUnreferencedDisks: true }, { signal: ctx.signal }),
    },
    ctx,
  );
}
