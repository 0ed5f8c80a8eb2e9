/*
 * Wire types of the Fediversity backend routes the management UI reads besides the job API (whose types live in
 * `@fediversity/plugin-fediversity-common`). Times are epoch milliseconds, as the backend sends them.
 */

export type { ReplicationRun } from '@fediversity/plugin-fediversity-common';

/** Live state of a Proxmox guest (GET /guests/:cluster/:node/:vmid/status). */
export interface GuestLiveStatus {
  status: string;
  uptimeSeconds?: number;
  /** Fraction of the allotted CPUs in use, 0..1. */
  cpu?: number;
  cpus?: number;
  memBytes?: number;
  maxMemBytes?: number;
  diskBytes?: number;
  maxDiskBytes?: number;
  lock?: string;
}

export interface ReplicationSchedule {
  id: string;
  entityRef: string;
  dataClass: string;
  strategy: string;
  intervalSeconds: number;
  enabled: boolean;
  nextRunAt: number;
  lastJobId?: string;
  lastTryAt?: number;
  failCount: number;
  lastError?: string;
}

export interface RecoveryPoint {
  scheduleId: string;
  entityRef: string;
  dataClass: string;
  /** The newest moment the copy is consistent with. */
  consistentAt: number;
  recordedAt: number;
  jobId?: string;
  ageSeconds: number;
  detail: Record<string, unknown>;
}

/** One recorded recovery point of the past (GET /replication/recovery-points/history), oldest first. */
export interface RecoveryPointSample {
  scheduleId: string;
  dataClass: string;
  consistentAt: number;
  recordedAt: number;
  jobId?: string;
}

/** A Proxmox guest, by where it is. */
export interface GuestLocation {
  cluster: string;
  node: string;
  vmid: number;
}

export interface BackupItem {
  type: 'vzdump' | 'pve-snapshot' | 'restic';
  id: string;
  takenAt?: number;
  sizeBytes?: number;
  notes?: string;
  restorable: boolean;
  /** A file manifest was recorded with it: restores of it are checked file by file. */
  checksums?: boolean;
  /** The guest it was taken of. */
  guest?: GuestLocation;
  /** Taken of a guest the instance ran on before a migration: it can be restored as a new guest only. */
  former?: boolean;
}

/** A former guest whose backups could not be listed, and why. */
export interface UnavailableGuest {
  guest: GuestLocation;
  message: string;
}

/** GET /backups: the current guest's backups and former guests' archives, newest first. */
export interface BackupListing {
  items: BackupItem[];
  unavailable: UnavailableGuest[];
}

/** POST /restores. `from` names the former guest an archive belongs to; such an archive is restored `fresh` only. */
export interface RestoreRequest {
  entityRef: string;
  volid: string;
  mode: 'fresh' | 'in-place';
  from?: GuestLocation;
}

export interface DrillRecord {
  id: string;
  entityRef: string;
  jobId: string;
  backupId: string;
  recoveryPointAt?: number;
  recoveryTimeMs: number;
  result: 'passed' | 'failed';
  finishedAt: number;
  /** What was checked: `failures`, `health`, `checksums` ({ files, matched, differing… } or { skipped }). */
  detail?: {
    failures?: string[];
    health?: { ok?: boolean; url?: string; status?: number; skipped?: string };
    checksums?: { files?: number; matched?: number; skipped?: string };
  };
}

/** What a route that enqueues a job answers. */
export interface EnqueuedJob {
  jobId: string;
  kind: string;
  status: string;
}

/** Where a migration goes: a node of a configured cluster (another cluster = another provider) and a storage. */
export interface MigrationTarget {
  cluster: string;
  node: string;
  storage: string;
}

export interface PreflightCheck {
  name: string;
  ok: boolean;
  message: string;
}

export interface MigrationPreflight {
  ok: boolean;
  checks: PreflightCheck[];
}

/** One storage as a node sees it (GET /nodes/:cluster/:node/storage). */
export interface NodeStorageUsage {
  storage: string;
  type: string;
  content?: string;
  shared: boolean;
  active?: boolean;
  totalBytes?: number;
  usedBytes?: number;
  availBytes?: number;
}

/** A configured Proxmox cluster (GET /clusters); the first is the one provisioning uses by default. */
export interface ClusterSummary {
  name: string;
  demo: boolean;
}

/** A node of a cluster with its load and memory (GET /nodes/:cluster). */
export interface NodeCapacity {
  node: string;
  status: string;
  /** Fraction of the node's CPUs in use, 0..1. */
  cpu?: number;
  maxCpu?: number;
  memBytes?: number;
  maxMemBytes?: number;
}
