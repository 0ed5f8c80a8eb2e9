import { SimGuest } from '../../state/model';
import { SimulatorCore } from '../core';
import { failure } from '../errors';
import { flagParam, intParam, RequestContext, Route, strParam } from '../route';

const SNAPSHOT_CAPABLE = new Set(['zfspool', 'lvmthin', 'rbd', 'btrfs']);

function hasSnapshotFeature(core: SimulatorCore, guest: SimGuest): boolean {
  const volid = (guest.config.rootfs ?? '').split(',')[0];
  const storage = core.state.storage(guest.node, volid.split(':')[0]);
  return Boolean(storage && SNAPSHOT_CAPABLE.has(storage.type));
}

/** The config a snapshot keeps: everything but the snapshot bookkeeping. */
function snapshotConfig(config: Record<string, string>): Record<string, string> {
  const { lock: _lock, parent: _parent, ...rest } = config;
  return rest;
}

function guestFor({ core, params }: RequestContext) {
  return core.guestOn(String(params.node), intParam(params, 'vmid')!);
}

export const snapshotRoutes: Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/snapshot',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Audit'] },
    proxyto: true,
    handle: ctx => {
      const guest = guestFor(ctx);
      return [
        ...guest.snapshots.map(s => ({
          name: s.name,
          description: s.description,
          snaptime: s.snaptime,
          ...(s.parent ? { parent: s.parent } : {}),
        })),
        {
          name: 'current',
          description: 'You are here!',
          running: guest.status === 'running' ? 1 : 0,
          ...(guest.config.parent ? { parent: guest.config.parent } : {}),
        },
      ];
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/lxc/{vmid}/snapshot',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Snapshot'] },
    proxyto: true,
    handle: ctx => {
      const { core } = ctx;
      const guest = guestFor(ctx);
      const name = strParam(ctx.params, 'snapname')!;
      if (name === 'current') throw failure(`invalid snapshot name 'current'`);
      return core.tasks.start({
        node: guest.node,
        type: 'vzsnapshot',
        id: String(guest.vmid),
        caller: ctx.caller,
        finish: () => {
          core.checkLock(guest);
          if (guest.snapshots.some(s => s.name === name)) throw new Error(`snapshot name '${name}' already used`);
          if (!hasSnapshotFeature(core, guest)) throw new Error('snapshot feature is not available');
          guest.snapshots.push({
            name,
            description: strParam(ctx.params, 'description') ?? '',
            snaptime: core.nowSeconds(),
            parent: guest.config.parent,
            config: snapshotConfig(guest.config),
          });
          guest.config.parent = name;
          return { log: [`create full clone of mountpoint rootfs (${guest.config.rootfs.split(',')[0]})`] };
        },
      }).upid;
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/lxc/{vmid}/snapshot/{snapname}',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Snapshot'] },
    proxyto: true,
    handle: ctx => {
      const { core } = ctx;
      const guest = guestFor(ctx);
      const name = strParam(ctx.params, 'snapname')!;
      return core.tasks.start({
        node: guest.node,
        type: 'vzdelsnapshot',
        id: String(guest.vmid),
        caller: ctx.caller,
        finish: () => {
          if (!flagParam(ctx.params, 'force')) core.checkLock(guest);
          const snapshot = guest.snapshots.find(s => s.name === name);
          if (!snapshot) throw new Error(`snapshot '${name}' does not exist`);
          guest.snapshots = guest.snapshots.filter(s => s !== snapshot);
          for (const other of guest.snapshots) if (other.parent === name) other.parent = snapshot.parent;
          if (guest.config.parent === name) {
            if (snapshot.parent) guest.config.parent = snapshot.parent;
            else delete guest.config.parent;
          }
        },
      }).upid;
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Snapshot', 'VM.Snapshot.Rollback'], any: true },
    proxyto: true,
    handle: ctx => {
      const { core } = ctx;
      const guest = guestFor(ctx);
      const name = strParam(ctx.params, 'snapname')!;
      return core.tasks.start({
        node: guest.node,
        type: 'vzrollback',
        id: String(guest.vmid),
        caller: ctx.caller,
        finish: () => {
          core.checkLock(guest);
          const snapshot = guest.snapshots.find(s => s.name === name);
          if (!snapshot) throw new Error(`snapshot '${name}' does not exist`);
          const log: string[] = [];
          if (guest.status === 'running') {
            log.push('stopping container');
            guest.status = 'stopped';
            guest.startedAt = undefined;
          }
          guest.config = { ...snapshot.config, parent: name };
          if (flagParam(ctx.params, 'start')) {
            guest.status = 'running';
            guest.startedAt = core.clock.now();
          }
          return { log };
        },
      }).upid;
    },
  },
];
