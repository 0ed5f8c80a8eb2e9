import { failure, parameterError } from '../errors';
import { flagParam, intParam, RequestContext, Route } from '../route';
import { guestInterfaces } from './guestHelpers';
import { listEntry } from './lxc';

function guestFor({ core, params }: RequestContext) {
  return core.guestOn(String(params.node), intParam(params, 'vmid')!);
}

/** skiplock is root-only in PVE. */
function skiplock(ctx: RequestContext): boolean {
  if (!flagParam(ctx.params, 'skiplock')) return false;
  if (!ctx.core.isRoot(ctx.caller)) throw parameterError({ skiplock: 'Only root may use this option.' });
  return true;
}

const powerPermission = { perm: '/vms/{vmid}', privs: ['VM.PowerMgmt'] };

export const powerRoutes: Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/status/current',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Audit'] },
    proxyto: true,
    handle: ctx => {
      const guest = guestFor(ctx);
      return {
        ...listEntry(ctx.core, guest),
        ha: { managed: 0 },
        ...(guest.status === 'running' ? { pid: 10_000 + guest.vmid } : {}),
      };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/lxc/{vmid}/status/start',
    permissions: powerPermission,
    proxyto: true,
    handle: ctx => {
      const guest = guestFor(ctx);
      const skip = skiplock(ctx);
      if (guest.status === 'running') throw failure(`CT ${guest.vmid} already running`);
      // pve-container checks template and lock inside the worker: they fail the task.
      return ctx.core.tasks.start({
        node: guest.node,
        type: 'vzstart',
        id: String(guest.vmid),
        caller: ctx.caller,
        finish: () => {
          if (guest.config.template === '1') throw new Error("you can't start a CT if it's a template");
          if (guest.config.lock !== 'mounted') ctx.core.checkLock(guest, skip);
          guest.status = 'running';
          guest.startedAt = ctx.core.clock.now();
        },
      }).upid;
    },
  },
  ...(['stop', 'shutdown', 'reboot'] as const).map(
    (action): Route => ({
      method: 'POST',
      path: `/nodes/{node}/lxc/{vmid}/status/${action}`,
      permissions: powerPermission,
      proxyto: true,
      handle: ctx => {
        const guest = guestFor(ctx);
        const skip = action === 'stop' ? skiplock(ctx) : false;
        // (PVE words the reboot check with "VM".)
        if (guest.status !== 'running') throw failure(`${action === 'reboot' ? 'VM' : 'CT'} ${guest.vmid} not running`);
        return ctx.core.tasks.start({
          node: guest.node,
          type: `vz${action}`,
          id: String(guest.vmid),
          caller: ctx.caller,
          finish: () => {
            if (action === 'reboot') {
              guest.startedAt = ctx.core.clock.now();
              return;
            }
            if (guest.config.lock !== 'mounted' || action === 'shutdown') ctx.core.checkLock(guest, skip);
            guest.status = 'stopped';
            guest.startedAt = undefined;
          },
        }).upid;
      },
    }),
  ),
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/interfaces',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Audit'] },
    proxyto: true,
    handle: ctx => {
      const guest = guestFor(ctx);
      if (guest.status !== 'running') throw failure(`CT ${guest.vmid} not running`);
      return guestInterfaces(ctx.core, guest);
    },
  },
];
