import { PermissionDenied } from '../../access/permissions';
import { SimGuest } from '../../state/model';
import { macFor } from '../../topology';
import { SimulatorCore } from '../core';
import { splitList } from '../../schema/formats';
import { failure, parameterError } from '../errors';
import { flagParam, intParam, RequestContext, Route, strParam } from '../route';
import {
  allocateDisk,
  checkFeatureChange,
  checkRootdirStorage,
  freeGuestVolumes,
  guestVolumes,
  mountValue,
  parseMountRequest,
  validateSshKeys,
} from './guestHelpers';
import { guestUsage, rootfsSize } from './usage';

/** Parameters of create that are not config keys. */
const CREATE_ONLY = new Set([
  'node', 'vmid', 'ostemplate', 'password', 'storage', 'force', 'restore', 'unique', 'pool',
  'ignore-unpack-errors', 'ssh-public-keys', 'start', 'bwlimit', 'ha-managed', 'unprivileged',
]);
const SYSTEMD_OSTYPES = new Set(['debian', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'nixos']);

function configText(value: unknown): string {
  if (value === true) return '1';
  if (value === false) return '0';
  return String(value);
}

function createContainer({ core, caller, params }: RequestContext): string {
  const node = String(params.node);
  const vmid = intParam(params, 'vmid')!;
  const restore = flagParam(params, 'restore');
  const force = flagParam(params, 'force');
  const existing = core.state.guests.get(vmid);
  const overwrite = Boolean(existing && existing.node === node && restore && force);
  if (!overwrite) core.checkVmidUnused(vmid);

  const sshKeys = strParam(params, 'ssh-public-keys');
  if (sshKeys !== undefined) validateSshKeys(sshKeys);

  const pool = strParam(params, 'pool');
  if (pool !== undefined && !core.state.pools.has(pool)) throw failure(`pool '${pool}' does not exist`);
  const allowed =
    core.permissions.has(caller, `/vms/${vmid}`, ['VM.Allocate']) ||
    (pool !== undefined && core.permissions.has(caller, `/pool/${pool}`, ['VM.Allocate'])) ||
    (overwrite && core.permissions.has(caller, `/vms/${vmid}`, ['VM.Backup']));
  // pve-container raises a bare permission error here (raise_perm_exc without a path).
  if (!allowed) throw new PermissionDenied();

  const ostemplate = String(params.ostemplate);
  const archive = core.state.findVolume(node, ostemplate);
  if (!archive) throw failure(`volume '${ostemplate}' does not exist`);
  // PVE::Storage::check_volume_access: templates need read access, backups their guest's VM.Backup.
  if (archive.volume.content === 'backup') {
    core.permissions.check(caller, `/storage/${archive.storage.id}`, ['Datastore.AllocateSpace']);
    if (archive.volume.vmid !== undefined) core.permissions.check(caller, `/vms/${archive.volume.vmid}`, ['VM.Backup']);
  } else {
    core.permissions.check(caller, `/storage/${archive.storage.id}`, ['Datastore.AllocateSpace', 'Datastore.Audit'], true);
  }
  if (restore && archive.volume.content !== 'backup') throw failure(`volume '${ostemplate}' is not a backup archive`);
  if (!restore && archive.volume.content !== 'vztmpl') throw failure(`volume '${ostemplate}' is not a container template`);

  const base: Record<string, string> = restore ? { ...(archive.volume.backupConfig ?? {}) } : {};
  let unprivileged = restore ? base.unprivileged === '1' : true;
  if (params.unprivileged !== undefined) unprivileged = flagParam(params, 'unprivileged');
  if (!unprivileged) core.permissions.check(caller, '/', ['Sys.Modify']);
  if (params.features !== undefined) checkFeatureChange(caller, base.features, strParam(params, 'features'), unprivileged);

  const storageDefault = strParam(params, 'storage') ?? 'local';
  const mountKeys = Object.keys(params).filter(k => /^mp\d+$/.test(k));
  if (mountKeys.length > 0 && params.rootfs === undefined) throw failure("mount points configured, but 'rootfs' not set - aborting");
  const rootfsRequest = parseMountRequest(strParam(params, 'rootfs') ?? `${storageDefault}:${restore ? rootfsSize(base.rootfs) / 1024 ** 3 || 4 : 4}`, storageDefault);
  if (!rootfsRequest.storageId || rootfsRequest.newSizeBytes === undefined) {
    if (!core.isRoot(caller)) throw failure('Only root can pass arbitrary filesystem paths.');
    throw failure('rootfs must be allocated on a storage (STORAGE:SIZE) in this simulator');
  }
  const storage = checkRootdirStorage(core, caller, node, rootfsRequest.storageId);

  if (overwrite && existing!.status === 'running') throw failure("can't overwrite running container");
  if (overwrite && existing!.config.protection === '1') throw failure(`unable to restore CT ${vmid} - protection mode enabled`);

  const config: Record<string, string> = { ...base };
  delete config.lock;
  for (const [key, value] of Object.entries(params)) {
    if (CREATE_ONLY.has(key) || key === 'rootfs' || /^unused\d+$/.test(key)) continue;
    config[key] = configText(value);
  }
  config.arch ??= 'amd64';
  if (unprivileged) config.unprivileged = '1';
  else delete config.unprivileged;
  for (const key of Object.keys(config)) {
    if (/^net\d+$/.test(key) && !/(?:^|,)hwaddr=/.test(config[key])) config[key] += `,hwaddr=${macFor(vmid, Number(key.slice(3)))}`;
    if (/^net\d+$/.test(key) && !/(?:^|,)type=/.test(config[key])) config[key] += ',type=veth';
  }

  const type = restore ? 'vzrestore' : 'vzcreate';
  const previous = overwrite ? existing! : undefined;
  if (previous) core.state.removeGuest(vmid);
  const guest: SimGuest = { vmid, node, type: 'lxc', config: { lock: 'create' }, status: 'stopped', snapshots: [] };
  core.state.addGuest(guest);
  const startLog = restore
    ? [`recovering backed-up configuration from '${ostemplate}'`, `restoring '${ostemplate}' now..`]
    : [`extracting archive '/var/lib/vz/template/cache/${ostemplate.split('/').pop()}'`];

  const task = core.tasks.start({
    node,
    type,
    id: String(vmid),
    caller,
    startLog,
    finish: () => {
      try {
        if (previous) freeGuestVolumes(core, previous);
        const volid = allocateDisk(core, storage, vmid, rootfsRequest.newSizeBytes!);
        guest.config = { ...config, rootfs: mountValue(volid, rootfsRequest.newSizeBytes!) };
      } catch (e) {
        throw new Error(`unable to ${restore ? 'restore' : 'create'} CT ${vmid} - ${(e as Error).message}`);
      }
      guest.config.hostname ??= `CT${vmid}`;
      guest.config.memory ??= '512';
      guest.config.swap ??= '512';
      if (pool) guest.pool = pool;
      const warnings: string[] = [];
      const nesting = /(?:^|,)nesting=(1|on|yes|true)(?:,|$)/.test(guest.config.features ?? '');
      if (!restore && unprivileged && !nesting && SYSTEMD_OSTYPES.has(guest.config.ostype ?? 'debian')) {
        warnings.push('Systemd 257 detected. You may need to enable nesting.');
      }
      if (flagParam(params, 'start')) {
        guest.status = 'running';
        guest.startedAt = core.clock.now();
      }
      return {
        log: [
          'Total bytes read: 524288000 (500MiB, 110MiB/s)',
          `Detected container architecture: ${guest.config.arch}`,
          ...(sshKeys ? ['Writing SSH public keys to /root/.ssh/authorized_keys'] : []),
        ],
        warnings,
      };
    },
    rollback: () => {
      core.state.removeGuest(vmid);
    },
  });
  return task.upid;
}

function readConfig({ core, params }: RequestContext) {
  const guest = core.guestOn(String(params.node), intParam(params, 'vmid')!);
  const snapname = strParam(params, 'snapshot');
  if (snapname !== undefined) {
    const snapshot = guest.snapshots.find(s => s.name === snapname);
    if (!snapshot) throw failure(`snapshot '${snapname}' does not exist`);
    return { ...core.typedConfig(snapshot.config), digest: core.digest(guest.config) };
  }
  return { ...core.typedConfig(guest.config), digest: core.digest(guest.config) };
}

const READ_ONLY_OPTIONS = ['unprivileged'];

const NOT_OPTIONS = ['node', 'vmid', 'delete', 'digest', 'revert'];

function updateConfig({ core, caller, params }: RequestContext): null {
  const guest = core.guestOn(String(params.node), intParam(params, 'vmid')!);
  const changes = Object.entries(params).filter(([key]) => !NOT_OPTIONS.includes(key));
  if (changes.length === 0 && params.delete === undefined && params.revert === undefined) throw failure('no options specified');
  const options = core.builtinSchemas['PUT /nodes/{node}/lxc/{vmid}/config'].properties;
  const deletions = splitList(strParam(params, 'delete') ?? '');
  for (const opt of splitList(strParam(params, 'revert') ?? '')) {
    if (!options[opt] || NOT_OPTIONS.includes(opt)) throw parameterError({ revert: `unknown option '${opt}'` });
  }
  for (const opt of deletions) {
    if (!options[opt] || NOT_OPTIONS.includes(opt)) throw parameterError({ delete: `unknown option '${opt}'` });
    // (sic: PVE's message has the unbalanced quote)
    if (params[opt] !== undefined) throw parameterError({ delete: `you can't use '-${opt}' and -delete ${opt}' at the same time` });
  }
  const unprivileged = guest.config.unprivileged === '1';
  if (params.features !== undefined || deletions.includes('features')) {
    checkFeatureChange(caller, guest.config.features, deletions.includes('features') ? undefined : strParam(params, 'features'), unprivileged);
  }
  core.checkLock(guest);
  const digest = strParam(params, 'digest');
  if (digest !== undefined && digest !== core.digest(guest.config)) {
    throw failure('detected modified configuration - file changed by other user? Try again.');
  }
  for (const key of [...deletions, ...changes.map(([option]) => option)]) {
    if (READ_ONLY_OPTIONS.includes(key)) throw failure(`unable to modify read-only option: '${key}'`);
  }
  // Changes apply at once; PVE would keep some of them pending while the CT runs.
  for (const key of deletions) delete guest.config[key];
  for (const [key, value] of changes) guest.config[key] = configText(value);
  return null;
}

function destroyContainer({ core, caller, params }: RequestContext): string {
  const node = String(params.node);
  const vmid = intParam(params, 'vmid')!;
  const guest = core.guestOn(node, vmid);
  core.checkLock(guest);
  if (guest.config.protection === '1') throw failure(`can't remove CT ${vmid} - protection mode enabled`);
  if (guest.status === 'running' && !flagParam(params, 'force')) throw failure(`unable to destroy CT ${vmid} - container is running`);
  const task = core.tasks.start({
    node,
    type: 'vzdestroy',
    id: String(vmid),
    caller,
    startLog: guest.status === 'running' ? ['stopping container (forced)'] : [],
    finish: () => {
      freeGuestVolumes(core, guest);
      core.state.removeGuest(vmid);
      return {
        log: [
          ...guestVolumes(guest.config).map(volid => `removed volume '${volid}'`),
          ...(flagParam(params, 'purge') ? [`purging CT ${vmid} from related configurations..`] : []),
        ],
      };
    },
  });
  return task.upid;
}

function convertToTemplate({ core, params }: RequestContext): null {
  const guest = core.guestOn(String(params.node), intParam(params, 'vmid')!);
  core.checkLock(guest);
  if (guest.snapshots.length > 0) throw failure('unable to create template, because CT contains snapshots');
  if (guest.config.template === '1') throw failure("you can't convert a template to a template");
  if (guest.status === 'running') throw failure("you can't convert a CT to template if the CT is running");
  for (const key of Object.keys(guest.config).filter(k => k === 'rootfs' || /^mp\d+$/.test(k))) {
    const storageId = guest.config[key].split(':')[0];
    if (core.state.storage(guest.node, storageId)?.type === 'dir') {
      throw failure(`Directory storage '${storageId}' does not support container templates!`);
    }
  }
  for (const key of Object.keys(guest.config).filter(k => k === 'rootfs' || /^mp\d+$/.test(k))) {
    const volid = guest.config[key].split(',')[0];
    const found = core.state.findVolume(guest.node, volid);
    if (!found || found.storage.type !== 'zfspool') continue;
    const baseVolid = volid.replace(':subvol-', ':basevol-');
    core.state.removeVolume(found.storage, volid);
    core.state.addVolume(found.storage, { ...found.volume, volid: baseVolid });
    guest.config[key] = guest.config[key].replace(volid, baseVolid);
  }
  guest.config.template = '1';
  return null;
}

export function listEntry(core: SimulatorCore, guest: SimGuest) {
  const usage = guestUsage(guest, core.clock.now());
  return {
    vmid: guest.vmid,
    name: guest.config.hostname ?? `CT${guest.vmid}`,
    status: guest.status,
    type: 'lxc',
    ...usage,
    ...(guest.config.tags ? { tags: guest.config.tags } : {}),
    ...(guest.config.lock ? { lock: guest.config.lock } : {}),
    ...(guest.config.template === '1' ? { template: 1 } : {}),
  };
}

export const lxcRoutes: Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/lxc',
    permissions: { user: 'all' },
    proxyto: true,
    handle: ({ core, caller, params }) =>
      core.state
        .guestsOn(String(params.node))
        .filter(g => core.permissions.has(caller, `/vms/${g.vmid}`, ['VM.Audit']))
        .map(g => listEntry(core, g)),
  },
  { method: 'POST', path: '/nodes/{node}/lxc', permissions: { user: 'all' }, proxyto: true, handle: createContainer },
  {
    method: 'DELETE',
    path: '/nodes/{node}/lxc/{vmid}',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Allocate'] },
    proxyto: true,
    handle: destroyContainer,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/config',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Audit'] },
    proxyto: true,
    handle: readConfig,
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/lxc/{vmid}/config',
    permissions: {
      perm: '/vms/{vmid}',
      privs: ['VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options'],
      any: true,
    },
    proxyto: true,
    handle: updateConfig,
  },
  {
    method: 'POST',
    path: '/nodes/{node}/lxc/{vmid}/template',
    permissions: { perm: '/vms/{vmid}', privs: ['VM.Allocate'] },
    proxyto: true,
    handle: convertToTemplate,
  },
];

