import { MethodSchema, ParamSchema, PropertyStringFormat } from './types';

/**
 * The simulator's own parameter rules for the endpoints it implements, written from
 * reference/proxmox.md and the PVE documentation (names, types, ranges, enums,
 * formats). They are used when the official schema is not loaded, and the contract
 * test (contract.test.ts) checks them against the official schema on a generated corpus.
 */

/** How many instances of an indexed key (`net[n]`) PVE 9 accepts. */
export const INDEXED_KEY_COUNTS: Record<string, number> = {
  net: 32,
  mp: 256,
  unused: 256,
  dev: 256,
};

const optional = (schema: ParamSchema): ParamSchema => ({ ...schema, optional: true });
const str = (extra: Partial<ParamSchema> = {}): ParamSchema => ({ type: 'string', ...extra });
const int = (extra: Partial<ParamSchema> = {}): ParamSchema => ({ type: 'integer', ...extra });
const num = (extra: Partial<ParamSchema> = {}): ParamSchema => ({ type: 'number', ...extra });
const bool = (): ParamSchema => optional({ type: 'boolean' });
const enumOf = (...values: string[]): ParamSchema => optional(str({ enum: values }));

const node = (): ParamSchema => str({ format: 'pve-node' });
const vmid = (): ParamSchema => int({ format: 'pve-vmid', minimum: 100, maximum: 999_999_999 });
const storageId = (): ParamSchema => str({ format: 'pve-storage-id' });
const snapname = (): ParamSchema => str({ format: 'pve-configid', maxLength: 40 });
const bwlimit = (): ParamSchema => optional(num({ minimum: 0 }));

/** Expands `net[n]` into net0..net31 (PVE lists indexed keys collapsed). */
export function expandIndexed(name: string, schema: ParamSchema): Record<string, ParamSchema> {
  const count = INDEXED_KEY_COUNTS[name];
  if (count === undefined) throw new Error(`no known index range for '${name}[n]'`);
  const result: Record<string, ParamSchema> = {};
  for (let i = 0; i < count; i++) result[`${name}${i}`] = schema;
  return result;
}

const MOUNT_OPTIONS = /^(?:(?:(discard|lazytime|noatime|nodev|noexec|nosuid))(;(?:(discard|lazytime|noatime|nodev|noexec|nosuid)))*)$/;

const rootfsFormat: PropertyStringFormat = {
  volume: str({ default_key: true, format: 'pve-lxc-mp-string' }),
  size: optional(str({ format: 'disk-size' })),
  acl: bool(),
  mountoptions: optional(str({ pattern: MOUNT_OPTIONS })),
  quota: bool(),
  replicate: bool(),
  ro: bool(),
  shared: bool(),
};

const mountPointFormat: PropertyStringFormat = {
  ...rootfsFormat,
  mp: str({ format: 'pve-lxc-mp-string' }),
  backup: bool(),
  keepattrs: bool(),
};

const networkFormat: PropertyStringFormat = {
  name: str({ pattern: /^(?:[-_.\w\d]+)$/ }),
  bridge: optional(str({ pattern: /^(?:[-_.\w\d]+)$/ })),
  firewall: bool(),
  gw: optional(str({ format: 'ipv4' })),
  gw6: optional(str({ format: 'ipv6' })),
  'host-managed': bool(),
  hwaddr: optional(str({ format: 'mac-addr' })),
  ip: optional(str({ format: 'pve-ipv4-config' })),
  ip6: optional(str({ format: 'pve-ipv6-config' })),
  link_down: bool(),
  mtu: optional(int({ minimum: 64, maximum: 65535 })),
  rate: optional(num()),
  tag: optional(int({ minimum: 1, maximum: 4094 })),
  trunks: optional(str({ pattern: /^(?:\d+(?:;\d+)*)$/ })),
  type: enumOf('veth'),
};

const featuresFormat: PropertyStringFormat = {
  force_rw_sys: bool(),
  fuse: bool(),
  keyctl: bool(),
  mknod: bool(),
  mount: optional(str({ pattern: /^(?:[a-zA-Z0-9_; ]+)$/ })),
  nesting: bool(),
};

const deviceFormat: PropertyStringFormat = {
  path: optional(str({ default_key: true, format: 'pve-lxc-dev-string' })),
  'deny-write': bool(),
  gid: optional(int({ minimum: 0 })),
  uid: optional(int({ minimum: 0 })),
  mode: optional(str({ pattern: /^(?:0[0-7]{3})$/ })),
};

const unusedFormat: PropertyStringFormat = {
  volume: str({ default_key: true, format: 'pve-volume-id' }),
};

/** Options of a container configuration (pct.conf), shared by create and PUT config. */
const lxcConfigOptions: Record<string, ParamSchema> = {
  arch: enumOf('amd64', 'i386', 'arm64', 'armhf', 'riscv32', 'riscv64'),
  cmode: enumOf('shell', 'console', 'tty'),
  console: bool(),
  cores: optional(int({ minimum: 1, maximum: 8192 })),
  cpulimit: optional(num({ minimum: 0, maximum: 8192 })),
  cpuunits: optional(int({ minimum: 0, maximum: 500000 })),
  debug: bool(),
  description: optional(str({ maxLength: 8192 })),
  ...expandIndexed('dev', optional(str({ format: deviceFormat }))),
  /* eslint-disable no-control-regex -- PVE's own patterns for these options, which reject control characters */
  entrypoint: optional(str({ pattern: /^(?:[^\x00-\x08\x10-\x1F\x7F]+)$/ })),
  env: optional(str({ pattern: /^(?:(?:\w+=[^\x00-\x08\x10-\x1F\x7F]*)(?:\0\w+=[^\x00-\x08\x10-\x1F\x7F]*)*)$/ })),
  /* eslint-enable no-control-regex */
  features: optional(str({ format: featuresFormat })),
  hookscript: optional(str({ format: 'pve-volume-id' })),
  hostname: optional(str({ format: 'dns-name', maxLength: 255 })),
  lock: enumOf('backup', 'create', 'destroyed', 'disk', 'fstrim', 'migrate', 'mounted', 'rollback', 'snapshot', 'snapshot-delete'),
  memory: optional(int({ minimum: 16 })),
  ...expandIndexed('mp', optional(str({ format: mountPointFormat }))),
  nameserver: optional(str({ format: 'lxc-ip-with-ll-iface-list' })),
  ...expandIndexed('net', optional(str({ format: networkFormat }))),
  onboot: bool(),
  ostype: enumOf('debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged'),
  protection: bool(),
  rootfs: optional(str({ format: rootfsFormat })),
  searchdomain: optional(str({ format: 'dns-name-list' })),
  startup: optional(str({ format: 'pve-startup-order' })),
  swap: optional(int({ minimum: 0 })),
  tags: optional(str({ format: 'pve-tag-list' })),
  template: bool(),
  timezone: optional(str({ format: 'pve-ct-timezone' })),
  tty: optional(int({ minimum: 0, maximum: 6 })),
  unprivileged: bool(),
  ...expandIndexed('unused', optional(str({ format: unusedFormat }))),
};

const method = (properties: Record<string, ParamSchema>): MethodSchema => ({ properties, additionalProperties: false });
const guest = (extra: Record<string, ParamSchema> = {}) => method({ node: node(), vmid: vmid(), ...extra });

/** Keyed by `METHOD /path/{template}` as in the apidoc. */
export function builtinMethodSchemas(): Record<string, MethodSchema> {
  return {
    'GET /version': method({}),
    'GET /access/ticket': method({}),
    'POST /access/ticket': method({
      username: str({ maxLength: 64 }),
      password: str(),
      realm: optional(str({ format: 'pve-realm', maxLength: 32 })),
      otp: optional(str()),
      path: optional(str({ maxLength: 64, requires: 'privs' })),
      privs: optional(str({ format: 'pve-priv-list', maxLength: 64, requires: 'path' })),
      'new-format': bool(),
      'tfa-challenge': optional(str()),
    }),
    'GET /cluster/status': method({}),
    'GET /cluster/resources': method({ type: enumOf('vm', 'storage', 'node', 'sdn') }),
    'GET /cluster/nextid': method({ vmid: optional(vmid()) }),
    'GET /nodes': method({}),
    'GET /nodes/{node}/status': method({ node: node() }),
    'GET /nodes/{node}/certificates/info': method({ node: node() }),
    'GET /nodes/{node}/storage': method({
      node: node(),
      content: optional(str({ format: 'pve-storage-content-list' })),
      enabled: bool(),
      format: bool(),
      storage: optional(storageId()),
      target: optional(node()),
    }),
    'GET /nodes/{node}/storage/{storage}/status': method({ node: node(), storage: storageId() }),
    'GET /nodes/{node}/storage/{storage}/content': method({
      node: node(),
      storage: storageId(),
      content: optional(str({ format: 'pve-storage-content' })),
      vmid: optional(vmid()),
    }),
    'GET /nodes/{node}/lxc': method({ node: node() }),
    'POST /nodes/{node}/lxc': method({
      ...lxcConfigOptions,
      node: node(),
      vmid: vmid(),
      ostemplate: str({ maxLength: 255 }),
      password: optional(str({ minLength: 5 })),
      storage: optional(storageId()),
      force: bool(),
      restore: bool(),
      unique: optional({ type: 'boolean', requires: 'restore' }),
      pool: optional(str({ format: 'pve-poolid' })),
      'ignore-unpack-errors': bool(),
      'ssh-public-keys': optional(str()),
      start: bool(),
      bwlimit: bwlimit(),
      'ha-managed': bool(),
    }),
    'DELETE /nodes/{node}/lxc/{vmid}': guest({ 'destroy-unreferenced-disks': bool(), force: bool(), purge: bool() }),
    'GET /nodes/{node}/lxc/{vmid}/config': guest({ current: bool(), snapshot: optional(snapname()) }),
    'PUT /nodes/{node}/lxc/{vmid}/config': guest({
      ...lxcConfigOptions,
      delete: optional(str({ format: 'pve-configid-list' })),
      digest: optional(str({ maxLength: 40 })),
      revert: optional(str({ format: 'pve-configid-list' })),
    }),
    'GET /nodes/{node}/lxc/{vmid}/status/current': guest(),
    'POST /nodes/{node}/lxc/{vmid}/status/start': guest({ debug: bool(), skiplock: bool() }),
    'POST /nodes/{node}/lxc/{vmid}/status/stop': guest({ 'overrule-shutdown': bool(), skiplock: bool() }),
    'POST /nodes/{node}/lxc/{vmid}/status/shutdown': guest({ forceStop: bool(), timeout: optional(int({ minimum: 0 })) }),
    'POST /nodes/{node}/lxc/{vmid}/status/reboot': guest({ timeout: optional(int({ minimum: 0 })) }),
    'GET /nodes/{node}/lxc/{vmid}/interfaces': guest(),
    'POST /nodes/{node}/lxc/{vmid}/clone': guest({
      newid: vmid(),
      bwlimit: bwlimit(),
      description: optional(str()),
      full: bool(),
      hostname: optional(str({ format: 'dns-name' })),
      pool: optional(str({ format: 'pve-poolid' })),
      snapname: optional(snapname()),
      storage: optional(storageId()),
      target: optional(node()),
    }),
    'POST /nodes/{node}/lxc/{vmid}/template': guest(),
    'GET /nodes/{node}/lxc/{vmid}/snapshot': guest(),
    'POST /nodes/{node}/lxc/{vmid}/snapshot': guest({ snapname: snapname(), description: optional(str()) }),
    'DELETE /nodes/{node}/lxc/{vmid}/snapshot/{snapname}': guest({ snapname: snapname(), force: bool() }),
    'POST /nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback': guest({ snapname: snapname(), start: bool() }),
    'POST /nodes/{node}/lxc/{vmid}/migrate': guest({
      target: node(),
      bwlimit: bwlimit(),
      online: bool(),
      restart: bool(),
      'target-storage': optional(str({ format: 'storage-pair-list' })),
      timeout: optional(int()),
    }),
    'POST /nodes/{node}/lxc/{vmid}/remote_migrate': guest({
      'target-endpoint': str({ format: 'proxmox-remote' }),
      'target-storage': str({ format: 'storage-pair-list' }),
      'target-bridge': str({ format: 'bridge-pair-list' }),
      'target-vmid': optional(vmid()),
      bwlimit: bwlimit(),
      delete: bool(),
      online: bool(),
      restart: bool(),
      timeout: optional(int()),
    }),
    'POST /nodes/{node}/vzdump': method({
      node: optional(node()),
      all: bool(),
      bwlimit: optional(int({ minimum: 0 })),
      compress: enumOf('0', '1', 'gzip', 'lzo', 'zstd'),
      dumpdir: optional(str()),
      exclude: optional(str({ format: 'pve-vmid-list' })),
      'exclude-path': optional({ type: 'array', items: { type: 'string' } }),
      fleecing: optional(str({ format: 'backup-fleecing' })),
      ionice: optional(int({ minimum: 0, maximum: 8 })),
      'job-id': optional(str({ maxLength: 50, pattern: /^(?:\S+)$/ })),
      lockwait: optional(int({ minimum: 0 })),
      mailnotification: enumOf('always', 'failure'),
      mailto: optional(str({ format: 'email-or-username-list' })),
      maxfiles: optional(int({ minimum: 1 })),
      mode: enumOf('snapshot', 'suspend', 'stop'),
      'notes-template': optional(str({ maxLength: 1024, requires: 'storage' })),
      'notification-mode': enumOf('auto', 'legacy-sendmail', 'notification-system'),
      'pbs-change-detection-mode': enumOf('legacy', 'data', 'metadata'),
      performance: optional(str({ format: 'backup-performance' })),
      pigz: optional(int()),
      pool: optional(str()),
      protected: optional({ type: 'boolean', requires: 'storage' }),
      'prune-backups': optional(str({ format: 'prune-backups' })),
      quiet: bool(),
      remove: bool(),
      script: optional(str()),
      stdexcludes: bool(),
      stdout: bool(),
      stop: bool(),
      stopwait: optional(int({ minimum: 0 })),
      storage: optional(storageId()),
      tmpdir: optional(str()),
      vmid: optional(str({ format: 'pve-vmid-list' })),
      zstd: optional(int()),
    }),
    'GET /nodes/{node}/tasks': method({
      node: node(),
      errors: bool(),
      limit: optional(int({ minimum: 0 })),
      since: optional(int()),
      source: enumOf('archive', 'active', 'all'),
      start: optional(int({ minimum: 0 })),
      statusfilter: optional(str({ format: 'pve-task-status-type-list' })),
      typefilter: optional(str()),
      until: optional(int()),
      userfilter: optional(str()),
      vmid: optional(vmid()),
    }),
    'DELETE /nodes/{node}/tasks/{upid}': method({ node: node(), upid: str() }),
    'GET /nodes/{node}/tasks/{upid}/status': method({ node: node(), upid: str() }),
    'GET /nodes/{node}/tasks/{upid}/log': method({
      node: node(),
      upid: str(),
      download: bool(),
      limit: optional(int({ minimum: 0 })),
      start: optional(int({ minimum: 0 })),
    }),
  };
}
