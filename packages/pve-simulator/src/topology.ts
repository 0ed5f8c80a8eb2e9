import crypto from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import { builtinRoles } from './access/roles';
import { ClusterState } from './state/cluster';
import { AclEntry, parseTokenId, SimGuest, StorageContent } from './state/model';
import { formatDiskSize, GiB, parseBytes } from './state/sizes';

/**
 * What a simulated cluster looks like at start: written as YAML (topologies/demo.yaml)
 * or built in code (generateTopology, for benchmarks).
 */
export interface TopologySpec {
  cluster: string;
  nextid?: { lower?: number; upper?: number };
  /** Storages every node has (a node may list its own instead). */
  storages?: StorageSpec[];
  /** Template archives put on every node's storages that allow `vztmpl`. */
  templates?: Array<{ volid: string; size?: string | number }>;
  nodes: NodeSpec[];
  pools?: Array<{ poolid: string; comment?: string }>;
  guests?: GuestSpec[];
  roles?: Record<string, string[]>;
  users?: Array<{ userid: string; password?: string; acl?: AclSpec[] }>;
  tokens?: TokenSpec[];
}

export interface NodeSpec {
  name: string;
  ip?: string;
  online?: boolean;
  cpus?: number;
  memory?: string | number;
  storages?: StorageSpec[];
}

export interface StorageSpec {
  id: string;
  type: string;
  content: string[] | string;
  total: string | number;
  used?: string | number;
  shared?: boolean;
}

export interface GuestSpec {
  vmid: number;
  node: string;
  hostname: string;
  ostype?: string;
  status?: 'running' | 'stopped';
  /** MiB */
  memory?: number;
  swap?: number;
  cores?: number;
  /** `storage:GiB`, e.g. `local-zfs:8`. */
  rootfs?: string;
  net0?: string;
  tags?: string;
  pool?: string;
  description?: string;
  unprivileged?: boolean;
  features?: string;
  template?: boolean;
  onboot?: boolean;
}

export interface AclSpec {
  path: string;
  role?: string;
  roles?: string[];
  propagate?: boolean;
}

export interface TokenSpec {
  /** `user@realm!tokenid` */
  id: string;
  /** A UUID; generated when absent. */
  secret?: string;
  privsep?: boolean;
  acl?: AclSpec[];
}

export function readTopologyFile(file: string): TopologySpec {
  const spec = YAML.parse(fs.readFileSync(file, 'utf8')) as TopologySpec;
  if (!spec || typeof spec.cluster !== 'string' || !Array.isArray(spec.nodes)) {
    throw new Error(`topology ${file}: needs 'cluster' (string) and 'nodes' (list)`);
  }
  return spec;
}

const CONTENT_TYPES: StorageContent[] = ['images', 'rootdir', 'vztmpl', 'backup', 'iso', 'snippets', 'import'];

function parseContent(content: string[] | string, where: string): StorageContent[] {
  const list = Array.isArray(content) ? content : content.split(',');
  for (const entry of list) {
    if (!CONTENT_TYPES.includes(entry as StorageContent)) throw new Error(`${where}: unknown content type '${entry}'`);
  }
  return list as StorageContent[];
}

function toAcl(specs: AclSpec[] | undefined, roles: Map<string, Set<string>>, where: string): AclEntry[] {
  return (specs ?? []).map(spec => {
    const names = spec.roles ?? (spec.role ? [spec.role] : []);
    for (const name of names) if (!roles.has(name)) throw new Error(`${where}: unknown role '${name}'`);
    return { path: spec.path, roles: names, propagate: spec.propagate ?? true };
  });
}

/** Builds the cluster state; `now` dates the volumes and boots. */
export function buildCluster(spec: TopologySpec, now: number): ClusterState {
  const state = new ClusterState(spec.cluster);
  state.nextIdLower = spec.nextid?.lower ?? 100;
  state.nextIdUpper = spec.nextid?.upper ?? 1_000_000;
  for (const [name, privs] of builtinRoles()) state.roles.set(name, privs);
  for (const [name, privs] of Object.entries(spec.roles ?? {})) state.roles.set(name, new Set(privs));

  spec.nodes.forEach((nodeSpec, index) => {
    state.addNode(
      ClusterState.newNode(nodeSpec.name, {
        ip: nodeSpec.ip ?? `10.0.0.${11 + index}`,
        online: nodeSpec.online ?? true,
        cpus: nodeSpec.cpus ?? 16,
        maxmem: parseBytes(nodeSpec.memory ?? '64G'),
        bootedAt: now - (3 + index) * 86_400_000,
      }),
    );
    for (const storageSpec of nodeSpec.storages ?? spec.storages ?? []) {
      const where = `node ${nodeSpec.name} storage ${storageSpec.id}`;
      const storage = {
        id: storageSpec.id,
        node: nodeSpec.name,
        type: storageSpec.type,
        content: parseContent(storageSpec.content, where),
        shared: storageSpec.shared ?? false,
        enabled: true,
        total: parseBytes(storageSpec.total),
        baseUsed: parseBytes(storageSpec.used ?? 0),
        used: parseBytes(storageSpec.used ?? 0),
        full: false,
        volumes: new Map(),
      };
      state.addStorage(storage);
      for (const template of spec.templates ?? []) {
        if (template.volid.split(':')[0] !== storage.id || !storage.content.includes('vztmpl')) continue;
        const format = /\.(tar\.[a-z0-9]+)$/.exec(template.volid)?.[1] ?? 'tgz';
        state.addVolume(storage, {
          volid: template.volid,
          content: 'vztmpl',
          format,
          size: parseBytes(template.size ?? 200 * 1024 ** 2),
          ctime: Math.floor(now / 1000) - 30 * 86_400,
        });
      }
    }
  });

  for (const pool of spec.pools ?? []) state.pools.set(pool.poolid, { poolid: pool.poolid, comment: pool.comment ?? '' });
  for (const guestSpec of spec.guests ?? []) addSpecGuest(state, guestSpec, now);

  state.users.set('root@pam', { userid: 'root@pam', acl: [] });
  for (const user of spec.users ?? []) {
    state.users.set(user.userid, { userid: user.userid, password: user.password, acl: toAcl(user.acl, state.roles, `user ${user.userid}`) });
  }
  for (const token of spec.tokens ?? []) addToken(state, token);
  return state;
}

export function addToken(state: ClusterState, token: TokenSpec): string {
  const { userid } = parseTokenId(token.id);
  if (!state.users.has(userid)) throw new Error(`token ${token.id}: user ${userid} is not defined`);
  const secret = token.secret ?? crypto.randomUUID();
  state.tokens.set(token.id, {
    fullId: token.id,
    secret,
    privsep: token.privsep ?? false,
    acl: toAcl(token.acl, state.roles, `token ${token.id}`),
  });
  return secret;
}

function addSpecGuest(state: ClusterState, spec: GuestSpec, now: number): void {
  const where = `guest ${spec.vmid}`;
  if (!state.nodes.has(spec.node)) throw new Error(`${where}: unknown node '${spec.node}'`);
  if (state.guests.has(spec.vmid)) throw new Error(`${where}: duplicate vmid`);
  const [storageId, sizeGiB] = (spec.rootfs ?? 'local-zfs:8').split(':');
  const storage = state.storage(spec.node, storageId);
  if (!storage) throw new Error(`${where}: node ${spec.node} has no storage '${storageId}'`);
  const size = Number(sizeGiB) * GiB;
  const volid = state.newDiskVolid(storage, spec.vmid);
  state.addVolume(storage, { volid, content: 'rootdir', format: storage.type === 'dir' ? 'raw' : 'subvol', size, ctime: Math.floor(now / 1000), vmid: spec.vmid });
  if (spec.pool && !state.pools.has(spec.pool)) throw new Error(`${where}: unknown pool '${spec.pool}'`);
  const config: Record<string, string> = {
    arch: 'amd64',
    cores: String(spec.cores ?? 2),
    hostname: spec.hostname,
    memory: String(spec.memory ?? 2048),
    net0: spec.net0 ?? `name=eth0,bridge=vmbr0,hwaddr=${macFor(spec.vmid)},ip=dhcp,type=veth`,
    ostype: spec.ostype ?? 'nixos',
    rootfs: `${volid},size=${formatDiskSize(size)}`,
    swap: String(spec.swap ?? 512),
    unprivileged: spec.unprivileged === false ? '0' : '1',
  };
  if (spec.features) config.features = spec.features;
  if (spec.tags) config.tags = spec.tags;
  if (spec.description) config.description = spec.description;
  if (spec.onboot) config.onboot = '1';
  if (spec.template) config.template = '1';
  const guest: SimGuest = {
    vmid: spec.vmid,
    node: spec.node,
    type: 'lxc',
    config,
    status: spec.status ?? 'stopped',
    startedAt: spec.status === 'running' ? now - 3_600_000 : undefined,
    snapshots: [],
    pool: spec.pool,
  };
  state.addGuest(guest);
}

/** A stable, locally administered unicast MAC for a guest. */
export function macFor(vmid: number, index = 0): string {
  const bytes = [0xbc, 0x24, 0x11, (vmid >> 16) & 0xff, (vmid >> 8) & 0xff, (vmid + index) & 0xff];
  return bytes.map(b => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** A large synthetic cluster for benchmarks: `nodes` nodes, `guests` CTs spread round-robin. */
export function generateTopology(options: { nodes: number; guests: number; cluster?: string }): TopologySpec {
  const nodes: NodeSpec[] = Array.from({ length: options.nodes }, (_, i) => ({
    name: `pve-${String(i + 1).padStart(3, '0')}`,
    ip: `10.${Math.floor(i / 250)}.${i % 250}.10`,
    cpus: 64,
    memory: '512G',
  }));
  const guests: GuestSpec[] = Array.from({ length: options.guests }, (_, i) => ({
    vmid: 1000 + i,
    node: nodes[i % nodes.length].name,
    hostname: `ct-${1000 + i}`,
    status: i % 5 === 0 ? 'stopped' : 'running',
    memory: 1024,
    rootfs: 'local-zfs:8',
    tags: `fediversity;owner-team-${i % 20};app-${['mastodon', 'forgejo', 'nextcloud', 'pixelfed'][i % 4]}`,
  }));
  return {
    cluster: options.cluster ?? 'bench',
    storages: [
      { id: 'local', type: 'dir', content: ['vztmpl', 'backup', 'iso', 'rootdir'], total: '200G', used: '20G' },
      { id: 'local-zfs', type: 'zfspool', content: ['rootdir', 'images'], total: '8T', used: '100G' },
    ],
    templates: [{ volid: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz', size: '180M' }],
    nodes,
    guests,
  };
}
