import crypto from 'node:crypto';
import {
  SimGuest,
  SimNode,
  SimPool,
  SimStorage,
  SimToken,
  SimUser,
  SimVolume,
  StorageContent,
} from './model';

/**
 * The whole simulated cluster. Lookups the API needs per request are indexed
 * (guests by id and by node, storages by node/id, volumes by volid) so that a
 * 10,000-guest cluster answers in linear time at worst.
 */
export class ClusterState {
  readonly nodes = new Map<string, SimNode>();
  /** Keyed `node/storage`. */
  readonly storages = new Map<string, SimStorage>();
  readonly guests = new Map<number, SimGuest>();
  readonly guestsByNode = new Map<string, Set<number>>();
  readonly pools = new Map<string, SimPool>();
  readonly users = new Map<string, SimUser>();
  readonly tokens = new Map<string, SimToken>();
  readonly roles = new Map<string, Set<string>>();
  nextIdLower = 100;
  nextIdUpper = 1_000_000;

  constructor(readonly clusterName: string) {}

  addNode(node: SimNode): void {
    this.nodes.set(node.name, node);
    this.guestsByNode.set(node.name, new Set());
  }

  addStorage(storage: SimStorage): void {
    this.storages.set(`${storage.node}/${storage.id}`, storage);
  }

  storage(node: string, id: string): SimStorage | undefined {
    return this.storages.get(`${node}/${id}`);
  }

  storagesOf(node: string): SimStorage[] {
    return [...this.storages.values()].filter(s => s.node === node);
  }

  addGuest(guest: SimGuest): void {
    this.guests.set(guest.vmid, guest);
    this.guestsByNode.get(guest.node)!.add(guest.vmid);
  }

  removeGuest(vmid: number): void {
    const guest = this.guests.get(vmid);
    if (!guest) return;
    this.guestsByNode.get(guest.node)?.delete(vmid);
    this.guests.delete(vmid);
  }

  moveGuest(vmid: number, target: string): void {
    const guest = this.guests.get(vmid)!;
    this.guestsByNode.get(guest.node)?.delete(vmid);
    guest.node = target;
    this.guestsByNode.get(target)!.add(vmid);
  }

  guestsOn(node: string): SimGuest[] {
    return [...(this.guestsByNode.get(node) ?? [])].map(vmid => this.guests.get(vmid)!);
  }

  /** Lowest id in [lower, upper) no guest uses; undefined when the range is full. */
  lowestFreeVmid(): number | undefined {
    for (let id = this.nextIdLower; id < this.nextIdUpper; id++) {
      if (!this.guests.has(id)) return id;
    }
    return undefined;
  }

  /** The storage a volid (`storage:volname`) lives on, as seen from `node`. */
  findVolume(node: string, volid: string): { storage: SimStorage; volume: SimVolume } | undefined {
    const storageId = volid.split(':')[0];
    const storage = this.storage(node, storageId);
    const volume = storage?.volumes.get(volid);
    return storage && volume ? { storage, volume } : undefined;
  }

  addVolume(storage: SimStorage, volume: SimVolume): void {
    storage.volumes.set(volume.volid, volume);
    storage.used += volume.size;
  }

  removeVolume(storage: SimStorage, volid: string): void {
    const volume = storage.volumes.get(volid);
    if (!volume) return;
    storage.volumes.delete(volid);
    storage.used -= volume.size;
  }

  /** Name of a new guest disk, following the storage type's naming scheme. */
  newDiskVolid(storage: SimStorage, vmid: number): string {
    for (let disk = 0; ; disk++) {
      const volid =
        storage.type === 'dir' || storage.type === 'nfs' || storage.type === 'cifs'
          ? `${storage.id}:${vmid}/vm-${vmid}-disk-${disk}.raw`
          : `${storage.id}:subvol-${vmid}-disk-${disk}`;
      if (!storage.volumes.has(volid)) return volid;
    }
  }

  supports(storage: SimStorage, content: StorageContent): boolean {
    return storage.content.includes(content);
  }

  static newNode(name: string, fields: Partial<SimNode> = {}): SimNode {
    return {
      name,
      ip: '127.0.0.1',
      online: true,
      cpus: 16,
      maxmem: 64 * 1024 ** 3,
      baseMem: 3 * 1024 ** 3,
      rootfsTotal: 100 * 1024 ** 3,
      bootedAt: Date.now() - 86_400_000,
      nextPid: 0x1000 + crypto.randomInt(0xf000),
      ...fields,
    };
  }
}
