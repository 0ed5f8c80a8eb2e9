import { randomBytes } from 'node:crypto';
import { parseEntityRef } from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import { TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import {
  GuestAccess,
  NodeStorage,
  parsePublicKeyLine,
  PveCluster,
  PveClustersService,
  sha256Fingerprint,
} from '@fediversity/plugin-fediversity-node';
import type { InstanceStore } from '../instances/InstanceStore';
import type { InstanceRecord } from '../instances/types';
import type { JobStore } from '../jobs/JobStore';
import type { ScheduleStore } from '../replication/ScheduleStore';
import { MIGRATION_JOB_KIND } from './migrationJobKind';
import { MigrationJobParams } from './params';
import { MigrationPlanConfig } from './planConfig';
import { PeerKeyInstaller } from './planPeerKey';
import { replicationKeyFiles } from './replicationFollows';
import {
  AppDataDefinition,
  buildMigrationParams,
  DataPlan,
  dnsRecordFor,
  LateTarget,
  MigrationTarget,
  planDataClasses,
  PlannedHost,
  PreflightCheck,
} from './planMigration';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
/** The record's TTL from the cut-over on: short, so a later move (or a rollback of the DNS) spreads fast. */
const DNS_TTL_SECONDS = 60;

/** Reaches a host with its pinned key and says whether the given directories exist there; changes nothing. */
export type HostProbe = (
  host: PlannedHost & { privateKey: string },
  directories: string[],
) => Promise<{ reachable: boolean; missing: string[]; error?: string }>;

export interface MigrationPlannerOptions {
  instances: Pick<InstanceStore, 'findByName'>;
  /** The instance's replication schedules: their key files move with the instance. */
  schedules?: Pick<ScheduleStore, 'list'>;
  jobs: Pick<JobStore, 'listJobs'>;
  clusters: PveClustersService;
  guestAccess: GuestAccess;
  /** The app definition of an instance (`component:default/mastodon`), from the catalog. */
  appDefinition(appRef: string): Promise<AppDataDefinition>;
  probe: HostProbe;
  /** Demo guests: authorises the source on the new target guest for the copy. */
  peerKeys: PeerKeyInstaller;
  config: MigrationPlanConfig;
}

/** The secret reference a migration's hosts use for the portal's key on a cluster's guests. */
export function guestKeyRef(cluster: string): string {
  return `guest-access.${cluster}`;
}

export interface Preflight {
  ok: boolean;
  checks: PreflightCheck[];
}

/** What the preflight learnt, so starting builds its params from the same facts. */
interface Facts {
  instance: InstanceRecord;
  demo: boolean;
  sourceCluster: PveCluster;
  targetCluster: PveCluster;
  app: AppDataDefinition;
  data: DataPlan;
  size: { diskGb: number; memoryMb: number; cores: number };
  template: string;
}

/**
 * Plans the migration of an instance to a node and storage: the preflight checks (read-only: Proxmox reads, an
 * SSH login that runs `test`), and the `instance.migrate` params when they pass. Starting allocates the target's
 * VMID and, on the demo cluster, creates the target's demo guest so its SSH endpoint is known up front.
 */
export class MigrationPlanner {
  constructor(private readonly options: MigrationPlannerOptions) {}

  /** The recorded instance behind a catalog entity (the instance's name is its entity name). */
  async instanceOf(entityRef: string): Promise<InstanceRecord> {
    const { name } = parseEntityRef(entityRef);
    const instance = await this.options.instances.findByName(name);
    if (!instance) throw new NotFoundError(`${entityRef} is not a recorded instance`);
    return instance;
  }

  async preflight(entityRef: string, target: MigrationTarget): Promise<Preflight> {
    const { checks } = await this.check(entityRef, target);
    return { ok: checks.every(check => check.ok), checks };
  }

  /** The preflight and, when it passes, the params of a migration ready to enqueue. */
  async plan(entityRef: string, target: MigrationTarget): Promise<Preflight & { params?: MigrationJobParams }> {
    const { checks, facts } = await this.check(entityRef, target);
    const ok = checks.every(check => check.ok);
    if (!ok || !facts) return { ok: false, checks };
    return { ok, checks, params: await this.params(facts, target, entityRef) };
  }

  private async params(facts: Facts, target: MigrationTarget, entityRef: string): Promise<MigrationJobParams> {
    const { instance, targetCluster } = facts;
    const vmid = await targetCluster.client.nextId();
    const source = sourceHost(instance)!;
    const { targetHost, peerIdentityFile } = facts.demo
      ? await this.demoTarget(facts, target, vmid, source)
      : this.lateTarget(target, source);
    const dnsRecord = facts.demo ? undefined : dnsRecordFor(instance.domain, this.options.config.dnsZones);
    const replicationKeys = this.options.schedules ? await replicationKeyFiles(this.options.schedules, entityRef) : [];
    return buildMigrationParams({
      app: facts.app,
      data: { ...facts.data, identityPaths: [...new Set([...facts.data.identityPaths, ...replicationKeys])] },
      demo: facts.demo,
      source,
      target: targetHost,
      provision: {
        cluster: target.cluster,
        node: target.node,
        storage: target.storage,
        ostemplate: facts.template,
        ...facts.size,
        vmid,
      },
      sourceGuest: { cluster: instance.cluster, node: instance.node, vmid: instance.vmid },
      postgres: this.options.config.postgres,
      replication: this.options.config.replication,
      peerIdentityFile,
      ...(dnsRecord ? { dns: { ...dnsRecord, type: 'A' as const, ttl: DNS_TTL_SECONDS } } : {}),
    });
  }

  /**
   * The target of a demo migration exists from now on (a demo guest on the demo host server, its key known),
   * and the source's key for the copy is installed on both now.
   */
  private async demoTarget(facts: Facts, target: MigrationTarget, vmid: number, source: PlannedHost) {
    const { instance, targetCluster } = facts;
    const endpoint = await this.options.guestAccess.prepare(targetCluster, { vmid, hostname: instance.name });
    if (!endpoint.hostKey) throw new Error(`The target guest ${vmid} has no pinned host key`);
    const targetHost: PlannedHost = {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.username,
      hostPublicKey: endpoint.hostKey,
      hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(endpoint.hostKey).blob),
      privateKeyRef: guestKeyRef(target.cluster),
    };
    const peerIdentityFile = await this.options.peerKeys(
      { ...source, privateKey: (await this.options.guestAccess.clientKey(facts.sourceCluster)).privateKey },
      { ...targetHost, privateKey: (await this.options.guestAccess.clientKey(targetCluster)).privateKey },
    );
    return { targetHost, peerIdentityFile };
  }

  /**
   * A real cluster's new guest gets its address when it starts: the provision step binds it (its address
   * from Proxmox, its host key pinned on first contact) and then writes a key made for this migration to
   * `peerIdentityFile` on the source, which the new guest accepts.
   */
  private lateTarget(target: MigrationTarget, source: PlannedHost): { targetHost: LateTarget; peerIdentityFile: string } {
    const home = source.username === 'root' ? '/root' : `/home/${source.username}`;
    return {
      targetHost: { bindAfterProvision: true, port: 22, username: 'root', privateKeyRef: guestKeyRef(target.cluster) },
      peerIdentityFile: `${home}/.ssh/fediversity-migration-${randomBytes(4).toString('hex')}`,
    };
  }

  private async check(entityRef: string, target: MigrationTarget): Promise<{ checks: PreflightCheck[]; facts?: Facts }> {
    const instance = await this.instanceOf(entityRef);
    const checks: PreflightCheck[] = [];
    const demo = instance.demo || instance.ssh?.trust === 'demo';
    const sourceCluster = this.cluster(instance.cluster);
    const targetCluster = this.cluster(target.cluster);
    if (!sourceCluster || !targetCluster) {
      const missing = !sourceCluster ? instance.cluster : target.cluster;
      checks.push({ name: 'cluster', ok: false, message: `no Proxmox cluster named ${missing} is configured` });
      return { checks };
    }
    if (targetCluster.demo !== demo) {
      checks.push({
        name: 'target cluster',
        ok: false,
        message: demo
          ? 'a demo instance moves only to the demo cluster (its guests are demo guests)'
          : 'a real instance cannot move to the demo cluster',
      });
      return { checks };
    }

    checks.push(
      target.cluster === instance.cluster && target.node === instance.node
        ? { name: 'target differs', ok: false, message: `the instance already runs on ${target.node}` }
        : { name: 'target differs', ok: true, message: `from ${instance.cluster}/${instance.node} to ${target.cluster}/${target.node}` },
    );
    checks.push(await this.nodeCheck(targetCluster, target.node));
    const size = await this.sourceSize(sourceCluster, instance).catch(error => {
      checks.push({ name: 'source guest', ok: false, message: `guest ${instance.vmid} on ${instance.node}: ${(error as Error).message}` });
      return undefined;
    });
    if (size) checks.push(await this.storageCheck(targetCluster, target, size.diskGb));
    const template = await this.template(targetCluster, target.node, instance.os);
    checks.push(
      template
        ? { name: 'template', ok: true, message: template }
        : { name: 'template', ok: false, message: `no ${instance.os} container template on ${target.node}` },
    );
    checks.push(await this.runningMigrationsCheck(entityRef));

    const app = await this.options.appDefinition(instance.app).catch(error => {
      checks.push({ name: 'app definition', ok: false, message: (error as Error).message });
      return undefined;
    });
    const data = app ? planDataClasses(app, { demo }) : undefined;
    if (data) checks.push(...data.checks);
    checks.push(await this.sourceCheck(instance, sourceCluster, data));
    checks.push(this.targetAddressCheck(demo));
    checks.push(this.dnsCheck(instance.domain, demo));
    if (!app || !data || !size || !template) return { checks };
    return { checks, facts: { instance, demo, sourceCluster, targetCluster, app, data, size, template } };
  }

  private cluster(name: string): PveCluster | undefined {
    try {
      return this.options.clusters.get(name);
    } catch {
      return undefined;
    }
  }

  private async nodeCheck(cluster: PveCluster, node: string): Promise<PreflightCheck> {
    const nodes = await cluster.client.listNodes();
    const found = nodes.find(candidate => candidate.node === node);
    if (!found) {
      return { name: 'target node', ok: false, message: `${node} is not a node of ${cluster.name} (nodes: ${nodes.map(n => n.node).sort().join(', ')})` };
    }
    if (found.status !== 'online') return { name: 'target node', ok: false, message: `${node} is ${found.status}` };
    return { name: 'target node', ok: true, message: `${node} is online` };
  }

  private async sourceSize(cluster: PveCluster, instance: InstanceRecord) {
    const status = await cluster.client.getGuestStatus({ node: instance.node, vmid: instance.vmid, type: 'lxc' });
    return {
      diskGb: Math.max(1, Math.ceil((status.maxdisk ?? GIB) / GIB)),
      memoryMb: Math.max(64, Math.round((status.maxmem ?? 2048 * MIB) / MIB)),
      cores: Math.max(1, status.cpus ?? 2),
    };
  }

  private async storageCheck(cluster: PveCluster, target: MigrationTarget, diskGb: number): Promise<PreflightCheck> {
    const name = 'target storage';
    let storages: NodeStorage[];
    try {
      storages = await cluster.client.listStorages(target.node, { content: ['rootdir'], enabled: true });
    } catch (error) {
      return { name, ok: false, message: `cannot list the storages of ${target.node}: ${(error as Error).message}` };
    }
    const storage = storages.find(candidate => candidate.storage === target.storage);
    if (!storage) {
      return {
        name,
        ok: false,
        message: `${target.storage} on ${target.node} does not hold container disks (choices: ${storages.map(s => s.storage).join(', ') || 'none'})`,
      };
    }
    if (storage.active === 0) return { name, ok: false, message: `${target.storage} on ${target.node} is not active` };
    const free = storage.avail ?? 0;
    const fits = storage.avail === undefined || free >= diskGb * GIB;
    return {
      name,
      ok: fits,
      message: `${target.storage}: ${storage.avail === undefined ? 'free space unknown' : `${Math.floor(free / GIB)} GiB free`}, ${diskGb} GiB needed`,
    };
  }

  /** The OS's container template on the node: NixOS for `nixos`, Debian (else any non-NixOS) for `linux`. */
  private async template(cluster: PveCluster, node: string, os: InstanceRecord['os']): Promise<string | undefined> {
    const storages = await cluster.client.listStorages(node, { content: ['vztmpl'], enabled: true }).catch(() => []);
    const volumes = await Promise.all(
      storages.map(storage => cluster.client.listStorageContent(node, storage.storage, { content: 'vztmpl' }).catch(() => [])),
    );
    const templates = volumes.flat().map(volume => volume.volid).sort();
    const isNixos = (volid: string) => /nixos/i.test(volid);
    if (os === 'nixos') return templates.find(isNixos);
    return templates.find(volid => /debian/i.test(volid)) ?? templates.find(volid => !isNixos(volid));
  }

  private async runningMigrationsCheck(entityRef: string): Promise<PreflightCheck> {
    const jobs = await this.options.jobs.listJobs({ entityRefs: [entityRef], kind: MIGRATION_JOB_KIND, limit: 50 });
    const running = jobs.find(job => !TERMINAL_JOB_STATUSES.includes(job.status));
    return running
      ? { name: 'no other migration', ok: false, message: `migration ${running.id} of this instance is ${running.status}` }
      : { name: 'no other migration', ok: true, message: 'none running' };
  }

  private async sourceCheck(instance: InstanceRecord, cluster: PveCluster, data?: DataPlan): Promise<PreflightCheck> {
    const name = 'source host';
    const host = sourceHost(instance);
    if (!host) return { name, ok: false, message: 'no SSH endpoint is recorded for this instance' };
    const directories = (data?.dataClasses ?? []).flatMap(dataClass =>
      dataClass.kind === 'directories' && dataClass.replication !== 'rebuild' ? dataClass.directories : [],
    );
    const { privateKey } = await this.options.guestAccess.clientKey(cluster);
    const result = await this.options.probe({ ...host, privateKey }, directories);
    const where = `${host.username}@${host.host}:${host.port}`;
    if (!result.reachable) return { name, ok: false, message: `${where} is unreachable with the pinned key: ${result.error ?? 'no answer'}` };
    if (result.missing.length) return { name, ok: false, message: `${where}: ${result.missing.join(', ')} missing on the source` };
    return { name, ok: true, message: `${where} answers with the pinned key ${host.hostKeyFingerprint}` };
  }

  private dnsCheck(domain: string, demo: boolean): PreflightCheck {
    const dns = dnsRecordFor(domain, this.options.config.dnsZones);
    if (!dns) return { name: 'DNS', ok: true, message: `no configured DNS zone holds ${domain}; the name is left as it is` };
    if (demo) return { name: 'DNS', ok: true, message: 'demo guest: no address to point DNS at; the record is left as it is' };
    return { name: 'DNS', ok: true, message: `${dns.name}.${dns.zone} is pointed at the target at the cut-over` };
  }

  /** A demo guest's endpoint is the demo host server's; a real guest's is bound once it runs. */
  private targetAddressCheck(demo: boolean): PreflightCheck {
    return demo
      ? { name: 'target address', ok: true, message: 'a new demo guest on the demo host server' }
      : {
          name: 'target address',
          ok: true,
          message:
            'a new guest: its address comes from Proxmox once it runs, its host key is pinned on first contact (shown in the log), ' +
            "and the target's checks run then",
        };
  }
}

function sourceHost(instance: InstanceRecord): PlannedHost | undefined {
  if (!instance.ssh) return undefined;
  return {
    host: instance.ssh.host,
    port: instance.ssh.port,
    username: instance.ssh.username,
    hostPublicKey: instance.ssh.hostKey,
    hostKeyFingerprint: instance.ssh.hostKeyFingerprint,
    privateKeyRef: guestKeyRef(instance.cluster),
  };
}
