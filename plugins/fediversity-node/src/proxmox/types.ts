/**
 * Shapes of the Proxmox VE API answers the client uses (PVE 8.4 / 9.x). Only the fields we read are typed;
 * PVE adds fields between releases, so everything optional on the wire is optional here.
 */

export type GuestType = 'lxc' | 'qemu';

/** Addresses one guest. `type` defaults to `lxc`. */
export interface GuestRef {
  node: string;
  vmid: number;
  type?: GuestType;
}

export interface ClusterResource {
  /** `lxc/105`, `qemu/200`, `node/pve-a`, `storage/pve-a/local-zfs`, `pool/x`, `sdn/…`. */
  id: string;
  type: 'node' | 'storage' | 'pool' | 'qemu' | 'lxc' | 'openvz' | 'sdn' | 'network';
  node?: string;
  /** Numeric in current releases; older ones sent a string (normalised to a number by the client). */
  vmid?: number;
  name?: string;
  status?: string;
  template?: number | boolean;
  tags?: string;
  lock?: string;
  pool?: string;
  hastate?: string;
  storage?: string;
  content?: string;
  plugintype?: string;
  shared?: number | boolean;
  cpu?: number;
  maxcpu?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  uptime?: number;
}

export interface ClusterStatusEntry {
  type: 'cluster' | 'node';
  id: string;
  name: string;
  /** For nodes. */
  ip?: string;
  online?: number;
  local?: number;
  nodeid?: number;
  /** For the cluster entry. */
  nodes?: number;
  quorate?: number;
  version?: number;
}

export interface NodeSummary {
  node: string;
  status: 'online' | 'offline' | 'unknown';
  cpu?: number;
  maxcpu?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  uptime?: number;
  ssl_fingerprint?: string;
}

export type StorageContentType =
  | 'rootdir'
  | 'images'
  | 'vztmpl'
  | 'backup'
  | 'iso'
  | 'snippets'
  | 'import';

export interface NodeStorage {
  storage: string;
  type: string;
  content: string;
  active?: number;
  enabled?: number;
  shared?: number;
  total?: number;
  used?: number;
  avail?: number;
  used_fraction?: number;
}

export interface StorageVolume {
  volid: string;
  format: string;
  size: number;
  content?: string;
  ctime?: number;
  vmid?: number;
  notes?: string;
  protected?: number | boolean;
  parent?: string;
  used?: number;
}

export interface TaskStatus {
  upid: string;
  node: string;
  pid: number;
  pstart?: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  tokenid?: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
}

export interface TaskLogLine {
  n: number;
  t: string;
}

export interface TaskSummary {
  upid: string;
  node: string;
  type: string;
  id?: string;
  user: string;
  starttime: number;
  endtime?: number;
  status?: string;
  pid?: number;
  pstart?: number;
}

export interface GuestStatus {
  status: 'running' | 'stopped' | string;
  vmid: number;
  name?: string;
  lock?: string;
  tags?: string;
  template?: number | boolean;
  uptime?: number;
  cpu?: number;
  cpus?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  ha?: Record<string, unknown>;
  /** QEMU only. */
  qmpstatus?: string;
}

export interface ContainerInterface {
  name: string;
  hwaddr?: string;
  'hardware-address'?: string;
  inet?: string;
  inet6?: string;
}

/** A guest's configuration; `digest` guards updates against concurrent changes. */
export type GuestConfig = { digest: string } & Record<
  string,
  string | number | undefined
>;

export interface Snapshot {
  name: string;
  description?: string;
  snaptime?: number;
  parent?: string;
  vmstate?: number;
}

/** The outcome of a task that ended successfully. */
export interface TaskResult {
  upid: string;
  exitstatus: string;
  /** 0 for `OK`, n for `WARNINGS: n`. */
  warnings: number;
}
