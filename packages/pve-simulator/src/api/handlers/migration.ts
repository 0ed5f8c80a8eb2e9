import { SimGuest } from '../../state/model';
import { macFor } from '../../topology';
import { SimulatorCore } from '../core';
import { failure, parameterError } from '../errors';
import { flagParam, intParam, RequestContext, Route, strParam } from '../route';
import { allocateDisk, freeGuestVolumes, guestVolumes, mountValue } from './guestHelpers';
import { remoteImport } from './remoteClient';
import { rootfsSize } from './usage';

function guestFor({ core, params }: RequestContext) {
  return core.guestOn(String(params.node), intParam(params, 'vmid')!);
}

/** `src:dst,src2:dst2`, `dst` (all to one) or `1` (identity) -> a mapping function. */
export function parseIdMap(text: string | undefined): (source: string) => string {
  if (!text || text === '1') return source => source;
  const entries = new Map<string, string>();
  let fallback: string | undefined;
  for (const entry of text.split(/[,;\s]+/).filter(Boolean)) {
    const pair = entry.split(':');
    if (pair.length === 2) entries.set(pair[0], pair[1]);
    else fallback = entry;
  }
  return source => entries.get(source) ?? fallback ?? source;
}

/** Moves a guest's volumes to another node's storages (a stand-in for storage migration). */
function moveVolumes(core: SimulatorCore, guest: SimGuest, target: string, mapStorage: (s: string) => string): void {
  const moved: Record<string, string> = {};
  for (const key of Object.keys(guest.config).filter(k => k === 'rootfs' || /^(mp|unused)\d+$/.test(k))) {
    const volid = guest.config[key].split(',')[0];
    const found = core.state.findVolume(guest.node, volid);
    if (!found) continue;
    const targetStorageId = mapStorage(found.storage.id);
    const targetStorage = core.state.storage(target, targetStorageId);
    if (!targetStorage) throw new Error(`storage '${targetStorageId}' is not available on node '${target}'`);
    const newVolid = volid.replace(`${found.storage.id}:`, `${targetStorageId}:`);
    if (targetStorage.full || targetStorage.total - targetStorage.used < found.volume.size) {
      throw new Error(`zfs error: cannot receive new filesystem stream: out of space`);
    }
    core.state.addVolume(targetStorage, { ...found.volume, volid: newVolid });
    moved[volid] = newVolid;
  }
  for (const [volid, newVolid] of Object.entries(moved)) {
    const found = core.state.findVolume(guest.node, volid)!;
    core.state.removeVolume(found.storage, volid);
    for (const key of Object.keys(guest.config)) guest.config[key] = guest.config[key].replace(volid, newVolid);
  }
}

function cloneContainer(ctx: RequestContext): string {
  const { core, caller, params } = ctx;
  const source = guestFor(ctx);
  const newid = intParam(params, 'newid')!;
  const target = strParam(params, 'target') ?? source.node;
  const pool = strParam(params, 'pool');
  if (!core.state.nodes.has(target)) throw failure(`no such cluster node '${target}'`);
  if (pool !== undefined && !core.state.pools.has(pool)) throw failure(`pool '${pool}' does not exist`);
  core.checkVmidUnused(newid);
  core.checkLock(source);
  const isTemplate = source.config.template === '1';
  const full = params.full === undefined ? !isTemplate : flagParam(params, 'full');
  if (!full && !isTemplate) throw failure('linked clone feature for non-template CTs is not available'); // (approx.)
  if (!full && params.storage !== undefined) throw parameterError({ storage: 'storage option is only allowed for full clones' }); // (approx.)
  if (target !== source.node && !full) throw failure('linked clone to a different node is not possible'); // (approx.)
  const storageId = strParam(params, 'storage') ?? (source.config.rootfs ?? '').split(':')[0];
  const storage = core.state.storage(target, storageId);
  if (!storage) throw failure(`storage '${storageId}' does not exist`);
  if (full) core.permissions.check(caller, `/storage/${storageId}`, ['Datastore.AllocateSpace']);

  const clone: SimGuest = { vmid: newid, node: target, type: 'lxc', config: { lock: 'create' }, status: 'stopped', snapshots: [], pool };
  core.state.addGuest(clone);
  const snapname = strParam(params, 'snapname');
  return core.tasks.start({
    node: source.node,
    type: 'vzclone',
    id: String(source.vmid),
    caller,
    durationMs: full ? undefined : 3_000,
    startLog: [`create ${full ? 'full' : 'linked'} clone of mountpoint rootfs (${(source.config.rootfs ?? '').split(',')[0]})`],
    finish: () => {
      const base = snapname ? source.snapshots.find(s => s.name === snapname)?.config : source.config;
      if (!base) throw new Error(`snapshot '${snapname}' does not exist`);
      const size = rootfsSize(base.rootfs);
      const volid = allocateDisk(core, storage, newid, size);
      const { template: _t, parent: _p, lock: _l, ...rest } = base;
      clone.config = {
        ...rest,
        rootfs: mountValue(volid, size),
        hostname: strParam(params, 'hostname') ?? base.hostname ?? `CT${newid}`,
        ...(params.description !== undefined ? { description: String(params.description) } : {}),
      };
      for (const key of Object.keys(clone.config).filter(k => /^net\d+$/.test(k))) {
        clone.config[key] = clone.config[key].replace(/hwaddr=[^,]+/, `hwaddr=${macFor(newid, Number(key.slice(3)))}`);
      }
      for (const key of Object.keys(clone.config).filter(k => /^(mp|unused)\d+$/.test(k))) delete clone.config[key];
    },
    rollback: () => core.state.removeGuest(newid),
  }).upid;
}

function migrateContainer(ctx: RequestContext): string {
  const { core, caller, params } = ctx;
  const guest = guestFor(ctx);
  const target = String(params.target);
  if (target === guest.node) throw parameterError({ target: 'target is local node.' });
  const targetNode = core.state.nodes.get(target);
  if (!targetNode) throw failure(`no such cluster node '${target}'`);
  if (!targetNode.online) throw failure(`target node '${target}' is not online`); // (approx.)
  core.checkLock(guest);
  const restart = flagParam(params, 'restart');
  const online = flagParam(params, 'online');
  if (guest.status === 'running' && !online && !restart) throw failure("can't migrate running container without --online or --restart");
  const wasRunning = guest.status === 'running';
  guest.config.lock = 'migrate';
  return core.tasks.start({
    node: guest.node,
    type: 'vzmigrate',
    id: String(guest.vmid),
    caller,
    startLog: [
      ...(wasRunning ? [`shutdown CT ${guest.vmid}`] : []),
      `starting migration of CT ${guest.vmid} to node '${target}' (${targetNode.ip})`,
    ],
    finish: () => {
      // LXC has no live migration; PVE fails the task in its preparation step.
      if (online && wasRunning && !restart) throw new Error('lxc live migration is currently not implemented');
      if (wasRunning) guest.status = 'stopped';
      moveVolumes(core, guest, target, parseIdMap(strParam(params, 'target-storage')));
      core.state.moveGuest(guest.vmid, target);
      delete guest.config.lock;
      if (wasRunning) {
        guest.status = 'running';
        guest.startedAt = core.clock.now();
      }
      return { log: [`start final cleanup`, ...(wasRunning ? [`start container on target node`] : []), `migration finished successfully (duration 00:00:30)`] };
    },
    rollback: () => {
      delete guest.config.lock;
      if (wasRunning) guest.status = 'running';
    },
  }).upid;
}

/** Parses `apitoken=...,host=...,port=...,fingerprint=...` (validated before). */
function parseEndpoint(text: string): { host: string; port: number; apitoken: string; fingerprint?: string } {
  const fields: Record<string, string> = {};
  for (const part of text.split(',')) {
    const index = part.indexOf('=');
    fields[part.slice(0, index)] = part.slice(index + 1);
  }
  return { host: fields.host, port: Number(fields.port ?? 8006), apitoken: fields.apitoken, fingerprint: fields.fingerprint };
}

/**
 * Remote migration, approximated: instead of PVE's websocket tunnel (mtunnel), the
 * source task calls the target simulator's `/_sim/remote-import` with the given API
 * token over HTTPS (fingerprint pinned when given); the target checks the token's
 * privileges, allocates the volumes and creates the CT. No data moves.
 */
function remoteMigrateContainer(ctx: RequestContext): string {
  const { core, caller, params } = ctx;
  const guest = guestFor(ctx);
  core.checkLock(guest);
  const targetStorage = strParam(params, 'target-storage')!;
  if (targetStorage === '1') throw failure('remote migration requires explicit storage mapping!');
  const restart = flagParam(params, 'restart');
  const online = flagParam(params, 'online');
  if (guest.status === 'running' && !online && !restart) throw failure("can't migrate running container without --online or --restart");
  const endpoint = parseEndpoint(String(params['target-endpoint']));
  const targetVmid = intParam(params, 'target-vmid') ?? guest.vmid;
  const mapStorage = parseIdMap(targetStorage);
  const mapBridge = parseIdMap(strParam(params, 'target-bridge'));
  const wasRunning = guest.status === 'running';
  guest.config.lock = 'migrate';
  return core.tasks.start({
    node: guest.node,
    type: 'vzmigrate',
    id: String(guest.vmid),
    caller,
    durationMs: 60_000,
    startLog: [`remote: started migration tunnel to ${endpoint.host}:${endpoint.port}`],
    finish: async () => {
      if (wasRunning) guest.status = 'stopped';
      const volumes = guestVolumes(guest.config).map(volid => {
        const found = core.state.findVolume(guest.node, volid);
        return { key: Object.keys(guest.config).find(k => guest.config[k].startsWith(volid))!, volid, storage: mapStorage(volid.split(':')[0]), size: found?.volume.size ?? 0 };
      });
      const config = { ...guest.config };
      delete config.lock;
      for (const key of Object.keys(config).filter(k => /^net\d+$/.test(k))) {
        config[key] = config[key].replace(/bridge=([^,]+)/, (_m, bridge: string) => `bridge=${mapBridge(bridge)}`);
      }
      const answer = await remoteImport(endpoint, {
        vmid: targetVmid,
        config,
        volumes,
        start: wasRunning,
      });
      const log = [`remote: CT ${targetVmid} created on node '${answer.node}'`];
      if (flagParam(params, 'delete')) {
        freeGuestVolumes(core, guest);
        core.state.removeGuest(guest.vmid);
        log.push(`removing local copy of CT ${guest.vmid}`);
      } else {
        delete guest.config.lock;
        log.push(`source CT ${guest.vmid} kept (stopped)`);
      }
      return { log: [...log, 'migration finished successfully'] };
    },
    rollback: () => {
      delete guest.config.lock;
      if (wasRunning) guest.status = 'running';
    },
  }).upid;
}

export const migrationRoutes: Route[] = [
  { method: 'POST', path: '/nodes/{node}/lxc/{vmid}/clone', permissions: { clone: true }, proxyto: true, handle: cloneContainer },
  {
    method: 'POST',
    path: '/nodes/{node}/lxc/{vmid}/migrate',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Migrate'] },
    proxyto: true,
    handle: migrateContainer,
  },
  {
    method: 'POST',
    path: '/nodes/{node}/lxc/{vmid}/remote_migrate',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Migrate'] },
    proxyto: true,
    handle: remoteMigrateContainer,
  },
];
