import { InputError } from '@backstage/errors';
import { NodeStorage, NodeSummary, PveClient } from '@fediversity/plugin-fediversity-node';

export type GuestOs = 'nixos' | 'linux';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

export interface PlacementRequest {
  os: GuestOs;
  node?: string;
  storage?: string;
  template?: string;
  memoryMiB: number;
  diskGiB: number;
}

/** A type, not an interface, so it is JSON for ctx.checkpoint. */
export type Placement = {
  node: string;
  storage: string;
  storageShared: boolean;
  template: string;
};

/** Online nodes, the one with the most free memory first. */
export async function listNodesByFreeMemory(client: PveClient, signal?: AbortSignal): Promise<NodeSummary[]> {
  const nodes = await client.listNodes({ signal });
  return nodes
    .filter(node => node.status === 'online')
    .sort((a, b) => freeMemory(b) - freeMemory(a) || a.node.localeCompare(b.node));
}

/** Enabled storages of a node that hold container root disks, the one with the most free space first. */
export async function listGuestStorages(client: PveClient, node: string, signal?: AbortSignal): Promise<NodeStorage[]> {
  const storages = await client.listStorages(node, { content: ['rootdir'], enabled: true }, { signal });
  return storages
    .filter(storage => storage.active !== 0)
    .sort((a, b) => (b.avail ?? 0) - (a.avail ?? 0) || a.storage.localeCompare(b.storage));
}

/** Container templates (vztmpl volumes) available on a node. */
export async function listTemplates(client: PveClient, node: string, signal?: AbortSignal): Promise<string[]> {
  const storages = await client.listStorages(node, { content: ['vztmpl'], enabled: true }, { signal });
  const volumes = await Promise.all(
    storages.map(storage => client.listStorageContent(node, storage.storage, { content: 'vztmpl' }, { signal })),
  );
  return volumes.flat().map(volume => volume.volid).sort();
}

/** The template an OS gets when none is chosen: NixOS for `nixos`, Debian (else any non-NixOS) for `linux`. */
export function defaultTemplate(templates: string[], os: GuestOs): string | undefined {
  const isNixos = (volid: string) => /nixos/i.test(volid);
  if (os === 'nixos') return templates.find(isNixos);
  return templates.find(volid => /debian/i.test(volid)) ?? templates.find(volid => !isNixos(volid));
}

/**
 * Where a new guest goes, from live data: the chosen node/storage/template after checking they exist and have
 * room, or the node with the most free memory, its storage with the most free space and the OS's template.
 * Errors name the field and the choices there are.
 */
export async function resolvePlacement(
  client: PveClient,
  request: PlacementRequest,
  signal?: AbortSignal,
): Promise<Placement> {
  const nodes = await listNodesByFreeMemory(client, signal);
  if (!nodes.length) throw new InputError('node: the cluster has no online node');
  const node = request.node
    ? nodes.find(candidate => candidate.node === request.node)
    : nodes.find(candidate => freeMemory(candidate) >= request.memoryMiB * MIB) ?? nodes[0];
  if (!node) {
    throw new InputError(
      `node: ${request.node} is not an online node of this cluster (online: ${nodes.map(n => n.node).sort().join(', ')})`,
    );
  }
  if (freeMemory(node) < request.memoryMiB * MIB) {
    throw new InputError(
      `node: ${node.node} has ${Math.floor(freeMemory(node) / MIB)} MiB free, less than the ${request.memoryMiB} MiB asked for`,
    );
  }

  // Independent reads of the chosen node: one round trip instead of two.
  const [storages, templates] = await Promise.all([
    listGuestStorages(client, node.node, signal),
    listTemplates(client, node.node, signal),
  ]);
  const storage = request.storage ? storages.find(s => s.storage === request.storage) : storages[0];
  if (!storage) {
    throw new InputError(
      request.storage
        ? `storage: ${request.storage} on ${node.node} does not hold container disks (choices: ${storages.map(s => s.storage).join(', ') || 'none'})`
        : `storage: ${node.node} has no storage for container disks`,
    );
  }
  if (storage.avail !== undefined && storage.avail < request.diskGiB * GIB) {
    throw new InputError(
      `size: ${storage.storage} on ${node.node} has ${Math.floor(storage.avail / GIB)} GiB free, less than the ${request.diskGiB} GiB asked for`,
    );
  }

  const template = request.template ?? defaultTemplate(templates, request.os);
  if (!template || !templates.includes(template)) {
    throw new InputError(
      `template: ${template ?? `no ${request.os} template`} is not available on ${node.node} (available: ${templates.join(', ') || 'none'})`,
    );
  }
  return { node: node.node, storage: storage.storage, storageShared: Boolean(storage.shared), template };
}

function freeMemory(node: NodeSummary): number {
  return (node.maxmem ?? 0) - (node.mem ?? 0);
}
