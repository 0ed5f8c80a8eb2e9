import { NodeCapacity, NodeStorageUsage } from '../../api';

/*
 * What the placement fields show and check: free memory and CPU load of nodes, free space of the storages that
 * hold container root disks. The same rules as fediversity:guest:create's placement, so the form refuses what the
 * action would refuse, before the task starts.
 */

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

const gib = (bytes: number) => `${(bytes / GIB).toFixed(1).replace(/\.0$/, '')} GiB`;

export function freeMemoryBytes(node: NodeCapacity): number {
  return Math.max(0, (node.maxMemBytes ?? 0) - (node.memBytes ?? 0));
}

/** Online nodes, the one with the most free memory first (the one automatic placement picks). */
export function onlineNodesByFreeMemory(nodes: NodeCapacity[]): NodeCapacity[] {
  return nodes
    .filter(node => node.status === 'online')
    .sort((a, b) => freeMemoryBytes(b) - freeMemoryBytes(a) || a.node.localeCompare(b.node));
}

export function nodeLabel(node: NodeCapacity): string {
  const cpu =
    node.cpu === undefined ? '' : `, CPU ${Math.round(node.cpu * 100)}% of ${node.maxCpu ?? '?'} core${node.maxCpu === 1 ? '' : 's'}`;
  return `${node.node} — ${gib(freeMemoryBytes(node))} memory free of ${gib(node.maxMemBytes ?? 0)}${cpu}`;
}

/** Why the node cannot take a guest of this memory, or undefined when it can. */
export function nodeMisfit(node: NodeCapacity, memoryMiB: unknown): string | undefined {
  if (node.status !== 'online') return `${node.node} is ${node.status}, not online`;
  if (typeof memoryMiB !== 'number') return undefined;
  const free = freeMemoryBytes(node);
  return free < memoryMiB * MIB
    ? `${node.node} has ${gib(free)} memory free, less than the ${gib(memoryMiB * MIB)} asked for`
    : undefined;
}

/** Enabled, active storages whose content includes container root disks, the one with the most free space first. */
export function containerDiskStorages(storages: NodeStorageUsage[]): NodeStorageUsage[] {
  return storages
    .filter(storage => storage.active !== false && (storage.content ?? '').split(',').map(c => c.trim()).includes('rootdir'))
    .sort((a, b) => (b.availBytes ?? 0) - (a.availBytes ?? 0) || a.storage.localeCompare(b.storage));
}

export function storageLabel(storage: NodeStorageUsage): string {
  const total = storage.totalBytes === undefined ? '' : ` of ${gib(storage.totalBytes)}`;
  return `${storage.storage} — ${gib(storage.availBytes ?? 0)} free${total} (${storage.type}${storage.shared ? ', shared' : ''})`;
}

/** Why the storage cannot take a root disk of this size, or undefined when it can. */
export function storageMisfit(storage: NodeStorageUsage, diskGiB: unknown): string | undefined {
  if (typeof diskGiB !== 'number') return undefined;
  const free = storage.availBytes ?? 0;
  return free < diskGiB * GIB ? `${storage.storage} has ${gib(free)} free, less than the ${diskGiB} GiB disk asked for` : undefined;
}
