import { Config } from '@backstage/config';
import { normalizeZone } from '@fediversity/plugin-fediversity-node';
import { InputError } from '@backstage/errors';
import { replicationTlsSchema, ReplicationTls } from '@fediversity/plugin-fediversity-common';
import { PostgresHost } from './params';

/** The PostgreSQL cluster of a real host, without its address (each host's is its SSH address). */
export type PostgresSettings = Omit<PostgresHost, 'address'>;

/** What planning a migration reads from config, once. */
export interface MigrationPlanConfig {
  /** How the hosts' PostgreSQL runs (`fediversity.migration.postgres`); NixOS's layout by default. */
  postgres: PostgresSettings;
  /**
   * The role the target streams from the source as (`fediversity.migration.postgres.replicationUser`,
   * default postgres), the name of its password under `fediversity.migration.secrets`, where the hosts'
   * pg_hba.conf asks for one (`replicationPasswordSecret`), and the connection's TLS (`replicationTls`:
   * `mode`, and `rootCert`, the CA certificate's path on the hosts).
   */
  replication: { user: string; passwordRef?: string; tls: ReplicationTls };
  /** Zones the DNS provider serves (`fediversity.dns.zones`); empty when DNS is not configured. */
  dnsZones: string[];
}

/** services.postgresql on NixOS 25.05 (PostgreSQL 16): binaries on the system path, data per major. */
const NIXOS_POSTGRES: PostgresSettings = {
  bin: '/run/current-system/sw/bin',
  dataDir: '/var/lib/postgresql/16',
  port: 5432,
  socketDir: '/run/postgresql',
  osUser: 'postgres',
};

export function readMigrationPlanConfig(config: Config): MigrationPlanConfig {
  const postgres = config.getOptionalConfig('fediversity.migration.postgres');
  return {
    postgres: {
      bin: postgres?.getOptionalString('bin') ?? NIXOS_POSTGRES.bin,
      dataDir: postgres?.getOptionalString('dataDir') ?? NIXOS_POSTGRES.dataDir,
      port: postgres?.getOptionalNumber('port') ?? NIXOS_POSTGRES.port,
      socketDir: postgres?.getOptionalString('socketDir') ?? NIXOS_POSTGRES.socketDir,
      osUser: postgres?.getOptionalString('osUser') ?? NIXOS_POSTGRES.osUser,
    },
    replication: {
      user: postgres?.getOptionalString('replicationUser') ?? 'postgres',
      passwordRef: postgres?.getOptionalString('replicationPasswordSecret'),
      tls: readReplicationTls(postgres?.getOptionalConfig('replicationTls')),
    },
    dnsZones: (config.getOptionalStringArray('fediversity.dns.zones') ?? []).map(zone => normalizeZone(zone)),
  };
}

/** Checked as the job's params check it, so a bad setting fails at startup, not at the first migration. */
function readReplicationTls(config: Config | undefined): ReplicationTls {
  const tls = { mode: config?.getOptionalString('mode') ?? 'prefer', rootCert: config?.getOptionalString('rootCert') };
  const parsed = replicationTlsSchema.safeParse(tls);
  if (!parsed.success) {
    throw new InputError(`fediversity.migration.postgres.replicationTls: ${parsed.error.issues.map(issue => issue.message).join('; ')}`);
  }
  return parsed.data;
}
