import { SimGuest, SimNode, SimStorage } from '../../state/model';
import { parseBytes } from '../../state/sizes';

/**
 * Plausible, deterministic usage figures: a running guest uses a share of its
 * memory and CPU derived from its vmid, so repeated reads are stable.
 */
export function guestUsage(guest: SimGuest, nowMs: number) {
  const running = guest.status === 'running';
  const maxmem = Number(guest.config.memory ?? 512) * 1024 ** 2;
  const maxswap = Number(guest.config.swap ?? 512) * 1024 ** 2;
  const maxdisk = rootfsSize(guest.config.rootfs);
  const share = 0.2 + (guest.vmid % 7) / 20;
  const uptime = running && guest.startedAt !== undefined ? Math.max(0, Math.floor((nowMs - guest.startedAt) / 1000)) : 0;
  return {
    cpus: Number(guest.config.cores ?? 1),
    cpu: running ? ((guest.vmid % 5) + 1) / 100 : 0,
    maxmem,
    mem: running ? Math.floor(maxmem * share) : 0,
    maxswap,
    swap: 0,
    maxdisk,
    disk: Math.floor(maxdisk * (0.15 + (guest.vmid % 4) / 20)),
    uptime,
    netin: running ? uptime * 1200 : 0,
    netout: running ? uptime * 800 : 0,
    diskread: running ? uptime * 4096 : 0,
    diskwrite: running ? uptime * 2048 : 0,
  };
}

export function rootfsSize(rootfs: string | undefined): number {
  const size = /(?:^|,)size=([^,]+)/.exec(rootfs ?? '')?.[1];
  return size ? parseBytes(size) : 0;
}

export function nodeUsage(node: SimNode, guests: SimGuest[], nowMs: number) {
  let mem = node.baseMem;
  let cpu = 0.02;
  for (const guest of guests) {
    if (guest.status !== 'running') continue;
    const usage = guestUsage(guest, nowMs);
    mem += usage.mem;
    cpu += usage.cpu * usage.cpus;
  }
  return {
    cpu: Math.min(1, cpu / node.cpus),
    maxcpu: node.cpus,
    mem: Math.min(mem, node.maxmem),
    maxmem: node.maxmem,
    disk: Math.floor(node.rootfsTotal * 0.12),
    maxdisk: node.rootfsTotal,
    uptime: Math.floor((nowMs - node.bootedAt) / 1000),
  };
}

export function storageFigures(storage: SimStorage) {
  const used = storage.full ? storage.total : Math.min(storage.used, storage.total);
  return { total: storage.total, used, avail: storage.total - used };
}
