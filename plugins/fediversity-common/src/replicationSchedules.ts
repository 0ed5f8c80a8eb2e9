import { z } from 'zod';

/*
 * Replication schedule settings per strategy, as the backend's schedule API takes them (and the scaffolder's
 * replication action plans them). Hosts carry their pinned public key (known_hosts needs the key, the pin is
 * derived from it); S3 credentials and keys are references to configured secrets, never values.
 */

const plainPath = z.string().regex(/^\/[A-Za-z0-9._@+/-]*$/, 'must be an absolute plain path').refine(p => !p.split('/').includes('..'), 'must not contain ..');
const dataset = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,254}$/, 'must be a ZFS dataset name');
const argvCommand = z.array(z.string().min(1).max(4096)).min(1).max(64);

export const hostSpecSchema = z
  .object({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
    /** `ssh-ed25519 AAAA…`: the host's public key, pinned. */
    hostPublicKey: z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+$/),
    /** Private key file on this host with which it reaches its peer (host-to-host transfers). */
    peerIdentityFile: plainPath.optional(),
  })
  .strict();
export type HostSpec = z.infer<typeof hostSpecSchema>;

const secretRef = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/, 'must be a secret reference name');

export const zfsScheduleSchema = z
  .object({
    source: z.object({ host: hostSpecSchema, dataset }).strict(),
    target: z.object({ host: hostSpecSchema, dataset }).strict(),
    keepSnapshots: z.number().int().min(1).max(1000).default(3),
  })
  .strict();

export const rsyncScheduleSchema = z
  .object({
    source: z.object({ host: hostSpecSchema, path: plainPath }).strict(),
    target: z.object({ host: hostSpecSchema, root: plainPath }).strict(),
    quiesce: z.array(argvCommand).max(16).default([]),
    unquiesce: z.array(argvCommand).max(16).default([]),
    livePass: z.boolean().default(true),
    checksum: z.boolean().default(false),
    keepGenerations: z.number().int().min(1).max(100).default(3),
  })
  .strict();

/** libpq's `sslmode` values a replication connection may use (`disable` and `allow` are not offered). */
export const REPLICATION_SSL_MODES = ['prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type ReplicationSslMode = (typeof REPLICATION_SSL_MODES)[number];

/**
 * TLS of a replication connection (libpq `sslmode`): `prefer`, libpq's default, encrypts only where the server
 * offers TLS; across providers use `verify-full`, with the CA that signed the server's certificate (`rootCert`,
 * a file on the connecting host).
 */
export const replicationTlsSchema = z
  .object({
    mode: z.enum(REPLICATION_SSL_MODES).default('prefer'),
    rootCert: plainPath.optional(),
  })
  .strict()
  .refine(tls => !tls.mode.startsWith('verify-') || tls.rootCert !== undefined, {
    message: 'verify-ca and verify-full need rootCert, the CA certificate on the connecting host',
    path: ['rootCert'],
  })
  .default({});
export type ReplicationTls = z.infer<typeof replicationTlsSchema>;

const pgClusterSchema = z
  .object({
    host: hostSpecSchema,
    bin: plainPath.default('/usr/lib/postgresql/15/bin'),
    osUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).default('postgres'),
    dataDir: plainPath,
    port: z.number().int().min(1).max(65535).default(5432),
    socketDir: plainPath.default('/run/postgresql'),
  })
  .strict();

export const postgresScheduleSchema = z
  .object({
    primary: pgClusterSchema,
    /** Address the standby uses to reach the primary. */
    primaryAddress: z.string().min(1).max(253),
    standby: pgClusterSchema,
    replicationUser: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default('replicator'),
    /**
     * `fediversity.replication.postgresPasswords.<ref>`: the replication role's password, where the primary's
     * pg_hba.conf asks for one; it reaches the standby's host only as a passfile.
     */
    replicationPasswordRef: secretRef.optional(),
    /** TLS of the standby's connection to the primary; the CA is a file on the standby's host. */
    replicationTls: replicationTlsSchema,
    slot: z.string().regex(/^[a-z0-9_]{1,63}$/),
  })
  .strict();

const bucketSchema = z
  .object({
    endpoint: z.string().url(),
    region: z.string().optional(),
    bucket: z.string(),
    prefix: z.string().optional(),
    /** `fediversity.replication.secrets.<ref>` holds accessKeyId + secretAccessKey scoped to this bucket. */
    credentialsRef: secretRef,
  })
  .strict();

export const blobScheduleSchema = z
  .object({
    source: bucketSchema,
    target: bucketSchema,
    /** Where rclone runs; the portal itself when absent. */
    runner: hostSpecSchema.optional(),
  })
  .strict()
  .refine(s => s.source.credentialsRef !== s.target.credentialsRef, {
    message: 'source and target need their own credentials (scoped per bucket)',
  });

export const scheduleParamsSchemas = {
  zfs: zfsScheduleSchema,
  rsync: rsyncScheduleSchema,
  postgres: postgresScheduleSchema,
  blob: blobScheduleSchema,
} as const;
export type ScheduleStrategy = keyof typeof scheduleParamsSchemas;
export const SCHEDULE_STRATEGIES = Object.keys(scheduleParamsSchemas) as ScheduleStrategy[];
