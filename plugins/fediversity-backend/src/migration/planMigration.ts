import { DataClass } from '@fediversity/plugin-fediversity-common';
import { GuestLocation, LateBoundTarget, MigrationHost, MigrationJobParams, migrationJobParamsSchema } from './params';
import { MigrationPlanConfig, PostgresSettings } from './planConfig';

/** One line of a preflight answer: what was checked, whether it passed, and what a person should know. */
export interface PreflightCheck {
  name: string;
  ok: boolean;
  message: string;
}

/** Where a migration goes, as the wizard asks for it. */
export interface MigrationTarget {
  cluster: string;
  node: string;
  storage: string;
}

/** What the app definition says about the app's data. */
export interface AppDataDefinition {
  name: string;
  dataClasses: DataClass[];
  /** `spec.identityFiles`: files holding the domain identity, if the definition names any. */
  identityPaths: string[];
}

export interface DataPlan {
  /** The data classes the migration moves (with their quiesce commands). */
  dataClasses: DataClass[];
  identityPaths: string[];
  usesPostgres: boolean;
  checks: PreflightCheck[];
}

/**
 * Which of the app's data classes a migration moves, and a check per class saying how or why not. Demo guests
 * run no database, cache or object store: those classes are left out (and said so), files and identity move.
 * On real hosts a class no strategy can move yet fails its check.
 */
export function planDataClasses(app: AppDataDefinition, options: { demo: boolean }): DataPlan {
  const moved: DataClass[] = [];
  const checks: PreflightCheck[] = [];
  let usesPostgres = false;
  for (const dataClass of app.dataClasses) {
    const name = `data class ${dataClass.name}`;
    if (dataClass.replication === 'rebuild') {
      moved.push(dataClass);
      checks.push({ name, ok: true, message: 'rebuilt on the target, not copied' });
    } else if (dataClass.kind === 'directories' && dataClass.replication === 'rsync-quiesced') {
      moved.push(dataClass);
      checks.push({ name, ok: true, message: `files (${dataClass.directories.join(', ')}): live rsync, final pass after the quiesce` });
    } else if (options.demo && dataClass.kind !== 'directories') {
      const what = dataClass.kind === 'blob' ? 'no object store runs here' : 'no database runs here';
      checks.push({ name, ok: true, message: `demo guest: ${what}; files and identity move` });
    } else if (
      dataClass.kind === 'database' &&
      dataClass.engine === 'postgresql' &&
      dataClass.replication === 'postgresql-streaming'
    ) {
      moved.push(dataClass);
      usesPostgres = true;
      checks.push({ name, ok: true, message: 'PostgreSQL: streamed to a standby, promoted at the cut-over' });
    } else {
      const what = dataClass.kind === 'database' ? `${dataClass.engine} data` : `${dataClass.kind} data`;
      checks.push({
        name,
        ok: false,
        message: `migrating ${what} with ${dataClass.replication} is not supported yet; the migration would lose it`,
      });
    }
  }
  if (app.identityPaths.length) {
    checks.push({ name: 'identity', ok: true, message: `${app.identityPaths.length} identity file(s), copied and compared by hash` });
  }
  if (!moved.some(dataClass => dataClass.replication !== 'rebuild') && !app.identityPaths.length) {
    checks.push({ name: 'data', ok: false, message: 'nothing of this app could be moved here' });
  }
  return { dataClasses: moved, identityPaths: app.identityPaths, usesPostgres, checks };
}

/** An SSH endpoint as a migration reaches it: the pinned key and a reference to the portal's private key. */
export interface PlannedHost {
  host: string;
  port: number;
  username: string;
  hostPublicKey: string;
  hostKeyFingerprint: string;
  /** Resolved by the migration module (never the key itself). */
  privateKeyRef: string;
}

/** A target the migration creates on a real cluster: reached as `username` on `port` once it runs (bindTarget). */
export interface LateTarget {
  bindAfterProvision: true;
  port: number;
  username: string;
  privateKeyRef: string;
}

export interface PlanInput {
  app: AppDataDefinition;
  data: DataPlan;
  demo: boolean;
  source: PlannedHost;
  target: PlannedHost | LateTarget;
  provision: NonNullable<MigrationJobParams['provision']> & { vmid: number };
  /** The instance's guest now: a decommission job destroys it once the migration completed. */
  sourceGuest: GuestLocation;
  /** Real hosts only: how PostgreSQL runs on both. */
  postgres: PostgresSettings;
  /** Real hosts only: the role the target streams as, its password's secret and the connection's TLS. */
  replication: MigrationPlanConfig['replication'];
  peerIdentityFile: string;
  /** Set when the DNS provider serves the instance's zone; the address is the target's once it is bound. */
  dns?: NonNullable<MigrationJobParams['dns']>;
}

/** The validated `instance.migrate` params of a plan (pure; throws a ZodError on anything invalid). */
export function buildMigrationParams(input: PlanInput): MigrationJobParams {
  const postgres = input.data.usesPostgres && !input.demo ? input.postgres : undefined;
  const late = (planned: LateTarget): LateBoundTarget => ({
    bindAfterProvision: true,
    port: planned.port,
    username: planned.username,
    privateKey: { secretRef: planned.privateKeyRef },
    pathPrefix: '/',
    ...(postgres ? { postgres } : {}),
  });
  const host = (planned: PlannedHost): MigrationHost => ({
    host: planned.host,
    port: planned.port,
    username: planned.username,
    hostKey: planned.hostKeyFingerprint,
    hostPublicKey: planned.hostPublicKey,
    privateKey: { secretRef: planned.privateKeyRef },
    // The app's paths as they are on the guest (a demo guest's `/` is its own directory on the demo host).
    pathPrefix: '/',
    ...(postgres ? { postgres: { ...postgres, address: planned.host } } : {}),
  });
  return migrationJobParamsSchema.parse({
    app: {
      name: input.app.name,
      dataClasses: input.data.dataClasses,
      identityPaths: input.data.identityPaths,
    },
    source: host(input.source),
    target: 'bindAfterProvision' in input.target ? late(input.target) : host(input.target),
    peer: { identityFile: input.peerIdentityFile, madeForMigration: true },
    ...(postgres
      ? {
          replicationUser: input.replication.user,
          replicationTls: input.replication.tls,
          ...(input.replication.passwordRef ? { replicationPassword: { secretRef: input.replication.passwordRef } } : {}),
        }
      : {}),
    sourceGuest: input.sourceGuest,
    provision: input.provision,
    ...(input.dns ? { dns: input.dns } : {}),
  });
}

/** The DNS record of an instance's domain in one of the provider's zones (longest match), if any. */
export function dnsRecordFor(domain: string, zones: string[]): { zone: string; name: string } | undefined {
  const fqdn = `${domain.toLowerCase().replace(/\.$/, '')}.`;
  const zone = zones
    .filter(candidate => fqdn === candidate || fqdn.endsWith(`.${candidate}`))
    .sort((a, b) => b.length - a.length)[0];
  if (!zone) return undefined;
  return { zone, name: fqdn === zone ? '@' : fqdn.slice(0, -zone.length - 1) };
}
