/** The simulated cluster's state. Sizes are bytes, times are epoch milliseconds. */

export type StorageContent = 'images' | 'rootdir' | 'vztmpl' | 'backup' | 'iso' | 'snippets' | 'import';

export interface SimNode {
  name: string;
  ip: string;
  online: boolean;
  cpus: number;
  maxmem: number;
  /** Memory the host itself uses, before guests. */
  baseMem: number;
  rootfsTotal: number;
  bootedAt: number;
  /** Next task PID on this node (UPIDs carry it). */
  nextPid: number;
}

export interface SimVolume {
  volid: string;
  content: StorageContent;
  format: string;
  size: number;
  ctime: number;
  vmid?: number;
  notes?: string;
  protected?: boolean;
  /** For a backup: the guest configuration it restores. */
  backupConfig?: Record<string, string>;
}

export interface SimStorage {
  id: string;
  node: string;
  type: string;
  content: StorageContent[];
  shared: boolean;
  enabled: boolean;
  total: number;
  /** Space taken by things outside the simulated volumes (OS, ISOs...). */
  baseUsed: number;
  used: number;
  /** Set by fault injection: every allocation fails as on a full pool. */
  full: boolean;
  volumes: Map<string, SimVolume>;
}

export interface SimSnapshot {
  name: string;
  description: string;
  snaptime: number;
  parent?: string;
  config: Record<string, string>;
}

export interface SimGuest {
  vmid: number;
  node: string;
  type: 'lxc';
  /** The pct.conf keys and their text values, as PVE stores them. */
  config: Record<string, string>;
  status: 'running' | 'stopped';
  startedAt?: number;
  snapshots: SimSnapshot[];
  pool?: string;
}

export interface SimPool {
  poolid: string;
  comment: string;
}

export interface AclEntry {
  path: string;
  roles: string[];
  propagate: boolean;
}

export interface SimUser {
  userid: string;
  acl: AclEntry[];
  /** For ticket logins (POST /access/ticket); tokens are the normal way in. */
  password?: string;
}

export interface SimToken {
  /** `user@realm!tokenid` */
  fullId: string;
  secret: string;
  privsep: boolean;
  acl: AclEntry[];
}

export function parseTokenId(fullId: string): { userid: string; tokenid: string } {
  const match = /^([^!]+@[^!]+)!([A-Za-z][A-Za-z0-9._-]*)$/.exec(fullId);
  if (!match) throw new Error(`invalid API token id '${fullId}' (expected user@realm!tokenid)`);
  return { userid: match[1], tokenid: match[2] };
}
