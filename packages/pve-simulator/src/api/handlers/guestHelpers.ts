import { Caller } from '../../access/permissions';
import { SimGuest, SimStorage } from '../../state/model';
import { formatDiskSize, GiB } from '../../state/sizes';
import { SimulatorCore } from '../core';
import { ApiError, failure, parameterError } from '../errors';

/** A `rootfs`/`mpN` value: `STORAGE:GiB` (allocate) or `volume[,size=..]` (existing). */
export interface MountRequest {
  storageId?: string;
  newSizeBytes?: number;
  volume?: string;
}

export function parseMountRequest(value: string, defaultStorage: string): MountRequest {
  const [first] = value.split(',');
  const volume = first.includes('=') ? /(?:^|,)volume=([^,]+)/.exec(value)?.[1] ?? '' : first;
  if (/^\d+(\.\d+)?$/.test(volume)) return { storageId: defaultStorage, newSizeBytes: Number(volume) * GiB };
  const allocation = /^([^:]+):(\d+(?:\.\d+)?)$/.exec(volume);
  if (allocation) return { storageId: allocation[1], newSizeBytes: Number(allocation[2]) * GiB };
  return { volume, storageId: volume.includes(':') ? volume.split(':')[0] : undefined };
}

/** The create-time storage checks of pve-container, in its order. */
export function checkRootdirStorage(core: SimulatorCore, caller: Caller, node: string, storageId: string): SimStorage {
  const storage = core.state.storage(node, storageId);
  if (!storage) throw failure(`storage '${storageId}' does not exist`);
  if (!storage.content.includes('rootdir')) {
    throw parameterError({ storage: `storage '${storageId}' does not support container directories` });
  }
  core.permissions.check(caller, `/storage/${storageId}`, ['Datastore.AllocateSpace']);
  return storage;
}

/** Allocates a guest disk, failing as the storage backend does when it is full. */
export function allocateDisk(core: SimulatorCore, storage: SimStorage, vmid: number, size: number): string {
  const volid = core.state.newDiskVolid(storage, vmid);
  const avail = storage.total - storage.used;
  if (storage.full || size > avail) {
    const name = volid.split(':')[1];
    if (storage.type === 'zfspool') throw new Error(`zfs error: cannot create 'rpool/data/${name}': out of space`);
    throw new Error(`unable to create image: qemu-img: ${name}: Could not resize file: No space left on device`);
  }
  core.state.addVolume(storage, {
    volid,
    content: 'rootdir',
    format: storage.type === 'dir' ? 'raw' : 'subvol',
    size,
    ctime: core.nowSeconds(),
    vmid,
  });
  return volid;
}

export function mountValue(volid: string, size: number, rest: string[] = []): string {
  return [volid, ...rest, `size=${formatDiskSize(size)}`].join(',');
}

/** Volumes the guest's config references (rootfs, mpN, unusedN). */
export function guestVolumes(config: Record<string, string>): string[] {
  return Object.entries(config)
    .filter(([key]) => key === 'rootfs' || /^(mp|unused)\d+$/.test(key))
    .map(([, value]) => value.split(',')[0].replace(/^volume=/, ''))
    .filter(volid => volid.includes(':'));
}

export function freeGuestVolumes(core: SimulatorCore, guest: SimGuest): void {
  for (const volid of guestVolumes(guest.config)) {
    const found = core.state.findVolume(guest.node, volid);
    if (found) core.state.removeVolume(found.storage, volid);
  }
}

const FEATURE_KEYS = ['fuse', 'keyctl', 'mknod', 'mount', 'nesting', 'force_rw_sys'];

function parseFeatures(value: string | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const part of (value ?? '').split(',').filter(Boolean)) {
    const [key, v] = part.split('=');
    result[key] = v;
  }
  return result;
}

/** Non-root callers may only toggle `nesting`, and nothing on privileged CTs. */
export function checkFeatureChange(caller: Caller, oldValue: string | undefined, newValue: string | undefined, unprivileged: boolean): void {
  // PVE compares the authenticated id, so even root@pam's tokens are restricted.
  if (caller.fullId === 'root@pam') return; // (SimulatorCore.isRoot)
  const before = parseFeatures(oldValue);
  const after = parseFeatures(newValue);
  for (const key of FEATURE_KEYS) {
    if ((before[key] ?? '0') === (after[key] ?? '0')) continue;
    if (key === 'nesting' && unprivileged) continue;
    throw new ApiError(403, 'changing feature flags (except nesting) is only allowed for root@pam\n');
  }
}

const SSH_KEY_RE = /^(?:(?:[a-z0-9-]+(?:="[^"]*")?,?)+ )?(ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: .*)?$/;

/** PVE::Tools::validate_ssh_public_keys. */
export function validateSshKeys(keys: string): void {
  for (const line of keys.split('\n')) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    if (!SSH_KEY_RE.test(line.trim())) throw failure('SSH public key validation error');
  }
}

/** Addresses a running CT reports: DHCP leases are derived from node and vmid. */
export function guestInterfaces(core: SimulatorCore, guest: SimGuest) {
  const nodeIndex = [...core.state.nodes.keys()].indexOf(guest.node);
  const interfaces: Array<Record<string, string>> = [
    { name: 'lo', hwaddr: '00:00:00:00:00:00', 'hardware-address': '00:00:00:00:00:00', inet: '127.0.0.1/8', inet6: '::1/128' },
  ];
  for (const [key, value] of Object.entries(guest.config)) {
    if (!/^net\d+$/.test(key)) continue;
    const fields = Object.fromEntries(value.split(',').map(part => part.split('=') as [string, string]));
    const hwaddr = (fields.hwaddr ?? '').toLowerCase();
    const entry: Record<string, string> = { name: fields.name, hwaddr, 'hardware-address': hwaddr };
    if (fields.ip === 'dhcp') entry.inet = `10.${10 + nodeIndex}.${(guest.vmid >> 8) & 0xff}.${guest.vmid & 0xff}/16`;
    else if (fields.ip && fields.ip !== 'manual') entry.inet = fields.ip;
    if (fields.ip6 && !['manual', 'auto', 'dhcp'].includes(fields.ip6)) entry.inet6 = fields.ip6;
    else if (fields.ip6 === 'auto' || fields.ip6 === 'dhcp') entry.inet6 = `fd00:${10 + nodeIndex}::${guest.vmid.toString(16)}/64`;
    interfaces.push(entry);
  }
  return interfaces;
}
