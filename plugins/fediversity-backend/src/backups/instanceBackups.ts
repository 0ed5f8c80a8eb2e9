import { PveClustersService, PveError } from '@fediversity/plugin-fediversity-node';
import { BackupItem, listBackups, listVzdumpArchives } from './BackupLister';
import { GuestLocation } from './params';

/** A backup with the guest it was taken of. */
export interface GuestBackupItem extends BackupItem {
  guest: GuestLocation;
  /** Taken of a guest the instance ran on before a migration: it can be restored as a new guest only. */
  former?: true;
}

/** A former guest whose archives could not be listed, and why (shown to the instance's readers). */
export interface UnavailableGuest {
  guest: GuestLocation;
  message: string;
}

export interface InstanceBackups {
  /** Newest first. */
  items: GuestBackupItem[];
  unavailable: UnavailableGuest[];
}

/** A guest the instance ran on before, with when it moved away (ISO time; the instance record's `movedAt`). */
export type FormerGuestLocation = GuestLocation & { movedAt?: string };

/** How long one former guest's listing may take: a cluster that went away must not hold up the whole listing. */
export const FORMER_GUEST_LISTING_TIMEOUT_MS = 10_000;

/**
 * Every backup of an instance's current guest, and the vzdump archives of the guests it ran on before: after a
 * migration those are the only restore points until the new guest has backups of its own. Former guests'
 * snapshots are left out, since they went with the guest and roll back in place only. All guests are listed at
 * once. A former guest that cannot be listed (cluster no longer configured, API failing or slow) is reported in
 * `unavailable` rather than failing the listing; the current guest failing still fails it.
 */
export async function listInstanceBackups(
  clusters: PveClustersService,
  guests: { current: GuestLocation; former: FormerGuestLocation[] },
  options: { formerGuestTimeoutMs?: number } = {},
): Promise<InstanceBackups> {
  const timeoutMs = options.formerGuestTimeoutMs ?? FORMER_GUEST_LISTING_TIMEOUT_MS;
  const [current, former] = await Promise.all([
    listBackups(clusters, guests.current),
    Promise.all(guests.former.map(guest => listFormerGuestArchives(clusters, { cluster: guest.cluster, node: guest.node, vmid: guest.vmid }, timeoutMs))),
  ]);
  const listed: GuestBackupItem[][] = [current.map(item => ({ ...item, guest: guests.current })), ...former.map(listing => listing.items)];
  const items = onePerArchive(listed, guests.former.map(guest => (guest.movedAt ? Date.parse(guest.movedAt) : undefined)));
  return {
    items: items.sort((a, b) => (b.takenAt ?? 0) - (a.takenAt ?? 0)),
    unavailable: former.flatMap(listing => (listing.unavailable ? [listing.unavailable] : [])),
  };
}

/**
 * Proxmox names archives by VMID, and a VMID freed by a decommission is handed out again: the guest an instance
 * moved to can have its former guest's number, and where they share a storage both listings hold the same
 * archives. Each archive is kept once, under the guest that had the instance when it was taken: the current
 * guest since the newest former guest's move, former guest i between the move away from guest i + 1 and its own.
 * `listed` is the current guest's listing, then the former guests' newest first; `movedAt` the former guests'
 * moves (ms). Without a time to go by, the first listing that holds it keeps it. Snapshots are the current
 * guest's alone and pass through.
 */
function onePerArchive(listed: GuestBackupItem[][], movedAt: Array<number | undefined>): GuestBackupItem[] {
  // Listing 0 is the current guest's, held since movedAt[0]; listing j + 1 former guest j's, from movedAt[j + 1]
  // (the move onto it) until movedAt[j].
  const held = (index: number, takenAt: number) =>
    takenAt >= (movedAt[index] ?? -Infinity) && takenAt < (index === 0 ? Infinity : movedAt[index - 1] ?? Infinity);
  const kept = new Map<string, { item: GuestBackupItem; index: number }>();
  const others: GuestBackupItem[] = [];
  listed.forEach((items, index) => {
    for (const item of items) {
      if (item.type !== 'vzdump') {
        others.push(item);
        continue;
      }
      const key = `${item.guest.cluster}\0${item.id}`;
      const first = kept.get(key);
      if (!first) kept.set(key, { item, index });
      else if (item.takenAt !== undefined && held(index, item.takenAt) && !held(first.index, item.takenAt)) kept.set(key, { item, index });
    }
  });
  return [...others, ...[...kept.values()].map(({ item }) => item)];
}

interface FormerGuestListing {
  items: GuestBackupItem[];
  unavailable?: UnavailableGuest;
}

/** Never rejects: a failure becomes the guest's `unavailable` entry. */
async function listFormerGuestArchives(
  clusters: PveClustersService,
  guest: GuestLocation,
  timeoutMs: number,
): Promise<FormerGuestListing> {
  if (!clusters.list().some(cluster => cluster.name === guest.cluster)) {
    return { items: [], unavailable: { guest, message: `The cluster ${guest.cluster} is not configured any more` } };
  }
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const archives = await listVzdumpArchives(clusters, guest, { signal });
    return { items: archives.map(item => ({ ...item, guest, former: true as const })) };
  } catch (error) {
    return { items: [], unavailable: { guest, message: whyUnlisted(error, signal, timeoutMs) } };
  }
}

/**
 * What the browser is told. A PveError names the request and Proxmox's answer, never the token; any other error
 * is not ours to pass on, so only its name is.
 */
function whyUnlisted(error: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `Proxmox did not answer within ${timeoutMs / 1000} s`;
  if (error instanceof PveError) return `Could not list its backups: ${error.message}`;
  return `Could not list its backups (${error instanceof Error ? error.name : 'unknown error'})`;
}
