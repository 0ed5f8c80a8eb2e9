import { PveClustersService } from '@fediversity/plugin-fediversity-node';
import { CommandRunner } from '../replication/commandRunner';
import { GuestLocation } from './params';

export interface BackupItem {
  /** vzdump archive, Proxmox snapshot, or restic snapshot made by the guest's NixOS backup module. */
  type: 'vzdump' | 'pve-snapshot' | 'restic';
  id: string;
  /** When the data was taken (ms). */
  takenAt?: number;
  sizeBytes?: number;
  notes?: string;
  /** Whether a restore job can use it (vzdump archives; snapshots roll back in place only). */
  restorable: boolean;
  /** A file manifest was recorded with it: restores of it are checked file by file. */
  checksums?: boolean;
}

const RESTIC_JOB = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Every backup of an instance's guest: vzdump archives on the node's backup storages, the guest's Proxmox
 * snapshots and, when a runner on the guest is given, the restic snapshots of its NixOS backup jobs
 * (`services.restic.backups.<name>` installs a `restic-<name>` wrapper with the repository and password).
 */
export async function listBackups(
  clusters: PveClustersService,
  guest: GuestLocation,
  options: { restic?: { runner: CommandRunner; jobs: string[] }; signal?: AbortSignal } = {},
): Promise<BackupItem[]> {
  const { client } = clusters.get(guest.cluster);
  const call = { signal: options.signal };
  const items = await listVzdumpArchives(clusters, guest, { signal: options.signal });
  for (const snapshot of await client.listSnapshots({ node: guest.node, vmid: guest.vmid, type: 'lxc' }, call)) {
    if (snapshot.name === 'current') continue;
    items.push({
      type: 'pve-snapshot',
      id: snapshot.name,
      takenAt: snapshot.snaptime ? snapshot.snaptime * 1000 : undefined,
      notes: snapshot.description,
      restorable: false,
    });
  }
  for (const job of options.restic?.jobs ?? []) {
    if (!RESTIC_JOB.test(job)) continue;
    const result = await options.restic!.runner.run([`restic-${job}`, 'snapshots', '--json'], { signal: options.signal });
    for (const snapshot of JSON.parse(result.stdout || '[]') as Array<{ short_id?: string; id: string; time: string; paths?: string[] }>) {
      items.push({
        type: 'restic',
        id: `${job}:${snapshot.id}`,
        takenAt: Date.parse(snapshot.time),
        notes: snapshot.paths?.join(', '),
        restorable: false,
      });
    }
  }
  return items.sort((a, b) => (b.takenAt ?? 0) - (a.takenAt ?? 0));
}

/**
 * The guest's vzdump archives on its node's backup storages. They are files on those storages, not part of the
 * guest: they stay when the guest is destroyed, and a restore makes a new guest of them.
 */
export async function listVzdumpArchives(
  clusters: PveClustersService,
  guest: GuestLocation,
  options: { signal?: AbortSignal } = {},
): Promise<BackupItem[]> {
  const { client } = clusters.get(guest.cluster);
  const call = { signal: options.signal };
  const storages = await client.listStorages(guest.node, { content: ['backup'], enabled: true }, call);
  const items: BackupItem[] = [];
  for (const storage of storages) {
    for (const volume of await client.listBackups(guest.node, storage.storage, guest.vmid, call)) {
      items.push({
        type: 'vzdump',
        id: volume.volid,
        takenAt: volume.ctime ? volume.ctime * 1000 : undefined,
        sizeBytes: volume.size,
        notes: volume.notes,
        restorable: true,
      });
    }
  }
  return items;
}
