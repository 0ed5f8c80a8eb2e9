import { InputError } from '@backstage/errors';
import { Clock, systemClock } from './clock';
import { propertyString, PveParams, tagList } from './params';
import { RetryingTransport, RetryOptions } from './retry';
import {
  HttpsTransport,
  HttpsTransportOptions,
  pathOf,
  PveMethod,
  PveResponse,
  PveTransport,
} from './transport';
import {
  ClusterResource,
  ClusterStatusEntry,
  ContainerInterface,
  GuestConfig,
  GuestRef,
  GuestStatus,
  NodeStorage,
  NodeSummary,
  Snapshot,
  StorageContentType,
  StorageVolume,
  TaskLogLine,
  TaskResult,
  TaskStatus,
  TaskSummary,
} from './types';
import { parseUpid } from './upid';
import { PveTaskApi, waitForTask, WaitForTaskOptions } from './waitForTask';

export interface CallOptions {
  signal?: AbortSignal;
}

/** Parameters of POST /nodes/{node}/lxc (create), with PVE's names. Booleans are sent as 0/1. */
export interface LxcCreateParams {
  vmid: number;
  ostemplate: string;
  hostname?: string;
  ostype?:
    | 'debian' | 'devuan' | 'ubuntu' | 'centos' | 'fedora' | 'opensuse'
    | 'archlinux' | 'alpine' | 'gentoo' | 'nixos' | 'unmanaged';
  unprivileged?: boolean;
  /** Property string, see {@link lxcFeatures}. */
  features?: string;
  storage?: string;
  /** `STORAGE:GiB`, e.g. `local-zfs:8`. */
  rootfs?: string;
  /** Property string, see {@link lxcNetwork}. */
  net0?: string;
  nameserver?: string;
  searchdomain?: string;
  /** OpenSSH public keys, one per line. */
  'ssh-public-keys'?: string;
  cores?: number;
  memory?: number;
  swap?: number;
  onboot?: boolean;
  start?: boolean;
  /** Sent as PVE's `a;b` tag list. */
  tags?: string[];
  description?: string;
  pool?: string;
  protection?: boolean;
  timezone?: string;
}

export interface LxcRestoreParams {
  vmid: number;
  /** Backup volume id, e.g. `local:backup/vzdump-lxc-105-….tar.zst`. */
  archive: string;
  storage?: string;
  /** Overwrite an existing (stopped, unprotected) container with this vmid. */
  force?: boolean;
  unique?: boolean;
  hostname?: string;
  pool?: string;
  start?: boolean;
}

export interface QemuRestoreParams {
  vmid: number;
  archive: string;
  storage?: string;
  force?: boolean;
  unique?: boolean;
  pool?: string;
  start?: boolean;
}

export interface CloneParams {
  newid: number;
  /** `hostname` for containers, `name` for VMs: the client sends the right key. */
  name?: string;
  full?: boolean;
  storage?: string;
  target?: string;
  pool?: string;
  snapname?: string;
  description?: string;
  bwlimit?: number;
}

/** Keys of PUT …/config the client knows; other keys pass through unchanged and are validated by PVE. */
export interface GuestConfigUpdate {
  hostname?: string;
  name?: string;
  cores?: number;
  /** MiB; for VMs also PVE's `current=…` property string. */
  memory?: number | string;
  swap?: number;
  onboot?: boolean;
  tags?: string[];
  description?: string;
  net0?: string;
  features?: string;
  protection?: boolean;
  /** QEMU cloud-init. */
  ciuser?: string;
  /** QEMU: public keys, encoded by the client as PVE's `urlencoded` format. */
  sshkeys?: string[];
  ipconfig0?: string;
  nameserver?: string;
  agent?: string;
  [key: string]: string | number | boolean | string[] | undefined;
}

export interface VzdumpParams {
  vmids: number[];
  storage?: string;
  mode?: 'snapshot' | 'suspend' | 'stop';
  compress?: '0' | '1' | 'gzip' | 'lzo' | 'zstd';
  remove?: boolean;
  /** e.g. `keep-last=3,keep-daily=7`. */
  'prune-backups'?: string;
  'notes-template'?: string;
  protected?: boolean;
  bwlimit?: number;
}

export interface RemoteEndpoint {
  /** `USER@REALM!TOKENID` on the target cluster. */
  tokenId: string;
  tokenSecret: string;
  host: string;
  port?: number;
  /** SHA-256 fingerprint of the target's API certificate; PVE pins what it reads when absent. */
  fingerprint?: string;
}

export interface RemoteMigrateParams {
  target: RemoteEndpoint;
  /** Source storage → target storage; at least one entry (identity mapping is rejected by PVE). */
  storageMap: Record<string, string>;
  /** Source bridge → target bridge; `'1'` keeps bridge names. */
  bridgeMap: Record<string, string> | '1';
  targetVmid?: number;
  /** QEMU live migration. */
  online?: boolean;
  /** LXC: stop, migrate, start again. */
  restart?: boolean;
  /** Shutdown timeout for `restart`, seconds. */
  timeout?: number;
  /** Delete the source after success; the portal keeps it (false) until a separate decommission. */
  delete?: boolean;
  bwlimit?: number;
}

export interface ListTasksParams {
  vmid?: number;
  typefilter?: string;
  source?: 'archive' | 'active' | 'all';
  errors?: boolean;
  since?: number;
  until?: number;
  start?: number;
  limit?: number;
  userfilter?: string;
}

export interface PveClientOptions {
  transport: PveTransport;
  clock?: Clock;
  /** Defaults applied to every {@link PveClient.waitForTask}. */
  taskWait?: Omit<WaitForTaskOptions, 'signal' | 'clock'>;
}

export interface PveConnectionOptions extends HttpsTransportOptions {
  retry?: RetryOptions;
  clock?: Clock;
  taskWait?: Omit<WaitForTaskOptions, 'signal' | 'clock'>;
}

/**
 * Typed access to the Proxmox VE API for provisioning, snapshots, backups, restore and migration. Every method is
 * one API call (waitForTask polls); asynchronous operations return the task's UPID. Errors are PveError.
 */
export class PveClient implements PveTaskApi {
  private readonly transport: PveTransport;
  private readonly clock: Clock;
  private readonly taskWait: Omit<WaitForTaskOptions, 'signal' | 'clock'>;

  /** A client for one cluster over HTTPS, with a pinned certificate, an API token and safe retries. */
  static connect(options: PveConnectionOptions): PveClient {
    const clock = options.clock ?? systemClock;
    return new PveClient({
      transport: new RetryingTransport(new HttpsTransport(options), {
        ...options.retry,
        clock,
      }),
      clock,
      taskWait: options.taskWait,
    });
  }

  constructor(options: PveClientOptions) {
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.taskWait = options.taskWait ?? {};
  }

  /** One raw call, for endpoints without a typed method. Returns the envelope's `data`. */
  async call<T>(
    method: PveMethod,
    path: string,
    params?: PveParams,
    options?: CallOptions,
  ): Promise<T> {
    return (await this.callEnvelope<T>(method, path, params, options)).data;
  }

  private callEnvelope<T>(
    method: PveMethod,
    path: string,
    params?: PveParams,
    options?: CallOptions,
  ): Promise<PveResponse<T>> {
    return this.transport.request<T>({
      method,
      path,
      params,
      signal: options?.signal,
    });
  }

  // ---- cluster and nodes

  getVersion(options?: CallOptions) {
    return this.call<{ version: string; release: string; repoid: string }>(
      'GET',
      '/version',
      undefined,
      options,
    );
  }

  getClusterStatus(options?: CallOptions) {
    return this.call<ClusterStatusEntry[]>('GET', '/cluster/status', undefined, options);
  }

  /** The cluster-wide resource index: the one call that lists every guest, node and storage. */
  async getClusterResources(
    type?: 'vm' | 'storage' | 'node' | 'sdn',
    options?: CallOptions,
  ): Promise<ClusterResource[]> {
    const resources = await this.call<ClusterResource[]>(
      'GET',
      '/cluster/resources',
      { type },
      options,
    );
    return resources.map(resource =>
      resource.vmid === undefined
        ? resource
        : { ...resource, vmid: Number(resource.vmid) },
    );
  }

  /**
   * The lowest free VMID, or `vmid` itself if free (400 `VM n already exists` otherwise). PVE reserves nothing:
   * a concurrent create may take the id first, see ensureGuest.
   */
  async nextId(vmid?: number, options?: CallOptions): Promise<number> {
    // Declared integer, sent as a JSON string.
    const id = await this.call<string | number>('GET', '/cluster/nextid', { vmid }, options);
    return Number(id);
  }

  listNodes(options?: CallOptions) {
    return this.call<NodeSummary[]>('GET', '/nodes', undefined, options);
  }

  // ---- storage

  listStorages(
    node: string,
    filter: { content?: StorageContentType[]; enabled?: boolean } = {},
    options?: CallOptions,
  ) {
    return this.call<NodeStorage[]>(
      'GET',
      pathOf`/nodes/${node}/storage`,
      { content: filter.content?.join(','), enabled: filter.enabled },
      options,
    );
  }

  listStorageContent(
    node: string,
    storage: string,
    filter: { content?: StorageContentType; vmid?: number } = {},
    options?: CallOptions,
  ) {
    return this.call<StorageVolume[]>(
      'GET',
      pathOf`/nodes/${node}/storage/${storage}/content`,
      { content: filter.content, vmid: filter.vmid },
      options,
    );
  }

  /** Backups (vzdump archives) on one storage, optionally of one guest. */
  listBackups(node: string, storage: string, vmid?: number, options?: CallOptions) {
    return this.listStorageContent(node, storage, { content: 'backup', vmid }, options);
  }

  // ---- tasks

  getTaskStatus(upid: string, options?: CallOptions): Promise<TaskStatus> {
    const { node } = parseUpid(upid);
    return this.call<TaskStatus>(
      'GET',
      pathOf`/nodes/${node}/tasks/${upid}/status`,
      undefined,
      options,
    );
  }

  getTaskLogPage(
    upid: string,
    page: { start: number; limit: number },
    options?: CallOptions,
  ): Promise<PveResponse<TaskLogLine[]>> {
    const { node } = parseUpid(upid);
    return this.callEnvelope<TaskLogLine[]>(
      'GET',
      pathOf`/nodes/${node}/tasks/${upid}/log`,
      { start: page.start, limit: page.limit },
      options,
    );
  }

  listTasks(node: string, filter: ListTasksParams = {}, options?: CallOptions) {
    return this.call<TaskSummary[]>(
      'GET',
      pathOf`/nodes/${node}/tasks`,
      { ...filter },
      options,
    );
  }

  /** Asks PVE to stop a running task. */
  async stopTask(upid: string, options?: CallOptions): Promise<void> {
    const { node } = parseUpid(upid);
    await this.call('DELETE', pathOf`/nodes/${node}/tasks/${upid}`, undefined, options);
  }

  /** Waits for a task; see {@link waitForTask}. `WARNINGS: n` counts as success. */
  waitForTask(upid: string, options: Omit<WaitForTaskOptions, 'clock'> = {}): Promise<TaskResult> {
    return waitForTask(this, upid, { ...this.taskWait, ...options, clock: this.clock });
  }

  // ---- guests: create, restore, clone, template

  /** POST /nodes/{node}/lxc. Returns the `vzcreate` UPID; a taken vmid fails synchronously (PveError.isAlreadyExists). */
  createContainer(node: string, params: LxcCreateParams, options?: CallOptions): Promise<string> {
    return this.call<string>(
      'POST',
      pathOf`/nodes/${node}/lxc`,
      { ...params, tags: params.tags && tagList(params.tags) },
      options,
    );
  }

  /** Restores a container backup into `vmid` (a new guest, or over a stopped one with `force`). UPID `vzrestore`. */
  restoreContainer(node: string, params: LxcRestoreParams, options?: CallOptions): Promise<string> {
    const { archive, ...rest } = params;
    return this.call<string>(
      'POST',
      pathOf`/nodes/${node}/lxc`,
      { ...rest, ostemplate: archive, restore: true },
      options,
    );
  }

  /** Restores a VM backup. UPID `qmrestore`. */
  restoreVm(node: string, params: QemuRestoreParams, options?: CallOptions): Promise<string> {
    return this.call<string>('POST', pathOf`/nodes/${node}/qemu`, { ...params }, options);
  }

  cloneGuest(guest: GuestRef, params: CloneParams, options?: CallOptions): Promise<string> {
    const { name, ...rest } = params;
    const nameKey = guestType(guest) === 'lxc' ? 'hostname' : 'name';
    return this.call<string>(
      'POST',
      `${guestPath(guest)}/clone`,
      { ...rest, [nameKey]: name },
      options,
    );
  }

  /** Turns a guest into a template. Containers convert synchronously (null); VMs return a UPID. */
  convertToTemplate(guest: GuestRef, options?: CallOptions): Promise<string | null> {
    return this.call<string | null>('POST', `${guestPath(guest)}/template`, undefined, options);
  }

  /** Deletes a guest (must be stopped unless `force`). UPID `vzdestroy`/`qmdestroy`. */
  deleteGuest(
    guest: GuestRef,
    params: { purge?: boolean; destroyUnreferencedDisks?: boolean; force?: boolean } = {},
    options?: CallOptions,
  ): Promise<string> {
    const query: PveParams = {
      purge: params.purge,
      'destroy-unreferenced-disks': params.destroyUnreferencedDisks,
    };
    if (guestType(guest) === 'lxc') query.force = params.force;
    else if (params.force) {
      throw new InputError('force is only available for containers');
    }
    return this.call<string>('DELETE', guestPath(guest), query, options);
  }

  // ---- power and status

  getGuestStatus(guest: GuestRef, options?: CallOptions): Promise<GuestStatus> {
    return this.call<GuestStatus>('GET', `${guestPath(guest)}/status/current`, undefined, options);
  }

  /** Start (sync 500 `… already running` when running: read the status first). */
  startGuest(guest: GuestRef, params: { skiplock?: boolean } = {}, options?: CallOptions) {
    return this.call<string>('POST', `${guestPath(guest)}/status/start`, { ...params }, options);
  }

  /** Hard stop (sync 500 `… not running` when stopped). */
  stopGuest(
    guest: GuestRef,
    params: { skiplock?: boolean; overruleShutdown?: boolean } = {},
    options?: CallOptions,
  ) {
    return this.call<string>(
      'POST',
      `${guestPath(guest)}/status/stop`,
      { skiplock: params.skiplock, 'overrule-shutdown': params.overruleShutdown },
      options,
    );
  }

  /** Clean shutdown; `forceStop` stops it after `timeout` seconds. */
  shutdownGuest(
    guest: GuestRef,
    params: { timeout?: number; forceStop?: boolean } = {},
    options?: CallOptions,
  ) {
    return this.call<string>('POST', `${guestPath(guest)}/status/shutdown`, { ...params }, options);
  }

  /** A running container's addresses (LXC only; VMs need the guest agent). */
  getContainerInterfaces(guest: GuestRef, options?: CallOptions) {
    requireContainer(guest);
    return this.call<ContainerInterface[]>('GET', `${guestPath(guest)}/interfaces`, undefined, options);
  }

  // ---- configuration

  getGuestConfig(
    guest: GuestRef,
    params: { current?: boolean; snapshot?: string } = {},
    options?: CallOptions,
  ): Promise<GuestConfig> {
    return this.call<GuestConfig>('GET', `${guestPath(guest)}/config`, { ...params }, options);
  }

  /**
   * Synchronous config update. Pass the `digest` from getGuestConfig so a concurrent change fails instead of
   * being overwritten; `remove` lists keys to delete.
   */
  async updateGuestConfig(
    guest: GuestRef,
    update: GuestConfigUpdate,
    guard: { digest?: string; remove?: string[] } = {},
    options?: CallOptions,
  ): Promise<void> {
    const { tags, sshkeys, ...rest } = update;
    const params: PveParams = { ...rest, digest: guard.digest };
    if (tags) params.tags = tagList(tags);
    if (sshkeys) {
      if (guestType(guest) === 'lxc') {
        throw new InputError('Containers take SSH keys only at creation (ssh-public-keys)');
      }
      // `sshkeys` has format `urlencoded`; the form encoding then encodes the '%' again, as PVE expects.
      params.sshkeys = encodeURIComponent(sshkeys.join('\n'));
    }
    if (guard.remove?.length) params.delete = guard.remove.join(',');
    await this.call<null>('PUT', `${guestPath(guest)}/config`, params, options);
  }

  // ---- snapshots

  listSnapshots(guest: GuestRef, options?: CallOptions) {
    return this.call<Snapshot[]>('GET', `${guestPath(guest)}/snapshot`, undefined, options);
  }

  createSnapshot(
    guest: GuestRef,
    params: { snapname: string; description?: string },
    options?: CallOptions,
  ): Promise<string> {
    return this.call<string>('POST', `${guestPath(guest)}/snapshot`, { ...params }, options);
  }

  rollbackSnapshot(
    guest: GuestRef,
    snapname: string,
    params: { start?: boolean } = {},
    options?: CallOptions,
  ): Promise<string> {
    return this.call<string>(
      'POST',
      `${guestPath(guest)}${pathOf`/snapshot/${snapname}/rollback`}`,
      { ...params },
      options,
    );
  }

  deleteSnapshot(
    guest: GuestRef,
    snapname: string,
    params: { force?: boolean } = {},
    options?: CallOptions,
  ): Promise<string> {
    return this.call<string>(
      'DELETE',
      `${guestPath(guest)}${pathOf`/snapshot/${snapname}`}`,
      { ...params },
      options,
    );
  }

  // ---- backup and migration

  /** Backs guests up with vzdump on `node`. UPID `vzdump`; list the result with listBackups. */
  vzdump(node: string, params: VzdumpParams, options?: CallOptions): Promise<string> {
    const { vmids, ...rest } = params;
    if (!vmids.length) throw new InputError('vzdump needs at least one vmid');
    return this.call<string>(
      'POST',
      pathOf`/nodes/${node}/vzdump`,
      { ...rest, vmid: vmids.join(',') },
      options,
    );
  }

  /** Migrates a guest to another cluster (PVE's experimental remote_migrate). UPID `vzmigrate`/`qmigrate`. */
  remoteMigrate(guest: GuestRef, params: RemoteMigrateParams, options?: CallOptions): Promise<string> {
    const storagePairs = Object.entries(params.storageMap);
    if (!storagePairs.length) {
      throw new InputError('remote migration needs an explicit storage mapping');
    }
    const { target } = params;
    const endpoint = propertyString({
      apitoken: `PVEAPIToken=${target.tokenId}=${target.tokenSecret}`,
      host: target.host,
      port: target.port,
      fingerprint: target.fingerprint,
    });
    const body: PveParams = {
      'target-endpoint': endpoint,
      'target-storage': pairList(storagePairs),
      'target-bridge':
        params.bridgeMap === '1' ? '1' : pairList(Object.entries(params.bridgeMap)),
      'target-vmid': params.targetVmid,
      delete: params.delete ?? false,
      bwlimit: params.bwlimit,
    };
    if (guestType(guest) === 'lxc') {
      body.restart = params.restart;
      body.timeout = params.timeout;
      body.online = params.online;
    } else {
      body.online = params.online;
    }
    return this.call<string>('POST', `${guestPath(guest)}/remote_migrate`, body, options);
  }
}

function guestType(guest: GuestRef): 'lxc' | 'qemu' {
  return guest.type ?? 'lxc';
}

function guestPath(guest: GuestRef): string {
  if (!Number.isInteger(guest.vmid) || guest.vmid < 100) {
    throw new InputError(`Not a VMID: ${guest.vmid}`);
  }
  return guestType(guest) === 'lxc'
    ? pathOf`/nodes/${guest.node}/lxc/${guest.vmid}`
    : pathOf`/nodes/${guest.node}/qemu/${guest.vmid}`;
}

function requireContainer(guest: GuestRef) {
  if (guestType(guest) !== 'lxc') {
    throw new InputError(`Guest ${guest.vmid} is a VM; this call is for containers`);
  }
}

function pairList(pairs: Array<[string, string]>): string {
  return pairs
    .map(([from, to]) => {
      if (/[,:=\s]/.test(from + to)) {
        throw new InputError(`Invalid mapping entry ${from}:${to}`);
      }
      return `${from}:${to}`;
    })
    .join(',');
}

/** `features` for containers; non-root tokens may only set `nesting`. */
export function lxcFeatures(features: {
  nesting?: boolean;
  keyctl?: boolean;
  fuse?: boolean;
}): string {
  return propertyString(features);
}

/** A `netN` property string. */
export function lxcNetwork(net: {
  name: string;
  bridge: string;
  /** `dhcp`, `manual` or a CIDR. */
  ip?: string;
  gw?: string;
  ip6?: string;
  gw6?: string;
  hwaddr?: string;
  tag?: number;
  firewall?: boolean;
  mtu?: number;
}): string {
  return propertyString(net);
}

/** Create parameters for a NixOS container: nixos ostype, unprivileged, nesting (systemd needs it), SSH keys. */
export function nixosContainerParams(input: {
  vmid: number;
  ostemplate: string;
  hostname: string;
  sshPublicKeys: string[];
  storage: string;
  diskGiB: number;
  cores?: number;
  memoryMiB?: number;
  swapMiB?: number;
  network?: Parameters<typeof lxcNetwork>[0];
  tags?: string[];
  description?: string;
  pool?: string;
  start?: boolean;
  onboot?: boolean;
}): LxcCreateParams {
  if (!input.sshPublicKeys.length) {
    throw new InputError('A NixOS container needs at least one SSH public key');
  }
  if (input.sshPublicKeys.some(key => /[\r\n]/.test(key))) {
    throw new InputError('An SSH public key must be a single line');
  }
  return {
    vmid: input.vmid,
    ostemplate: input.ostemplate,
    hostname: input.hostname,
    ostype: 'nixos',
    unprivileged: true,
    features: lxcFeatures({ nesting: true }),
    rootfs: `${input.storage}:${input.diskGiB}`,
    'ssh-public-keys': input.sshPublicKeys.join('\n'),
    cores: input.cores,
    memory: input.memoryMiB,
    swap: input.swapMiB,
    net0: lxcNetwork(input.network ?? { name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }),
    tags: input.tags,
    description: input.description,
    pool: input.pool,
    start: input.start,
    onboot: input.onboot,
  };
}
