import { posix } from 'node:path';
import { dataClassesSchema, replicationTlsSchema } from '@fediversity/plugin-fediversity-common';
import { z } from 'zod';

const plainPath = z
  .string()
  .regex(/^\/[A-Za-z0-9_.\/+-]*$/, 'an absolute path of plain characters')
  .refine(path => !path.split('/').some(part => part === '.' || part === '..'), 'no . or .. segments');
const hostname = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$|^[0-9a-fA-F:]+$/);
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/);
/** The name, and comment, of a key pair a migration makes for its host-to-host copy. */
export const MIGRATION_KEY_NAME = /^fediversity-migration-[0-9a-f]{8}$/;
const secretRef = z.object({ secretRef: z.string().min(1).max(200) }).strict();

/** A PostgreSQL cluster on one host, driven with its own binaries as its OS user. */
export const postgresHostSchema = z
  .object({
    bin: plainPath.default('/usr/lib/postgresql/15/bin'),
    dataDir: plainPath,
    port: z.number().int().min(1).max(65535),
    /** Unix socket directory the cluster listens on; local commands connect through it. */
    socketDir: plainPath,
    /** Address other hosts use to reach this cluster (replication connections); default: the host's own. */
    address: hostname.optional(),
    osUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).default('postgres'),
    /** Server log file (pg_ctl -l); default `<dataDir>/../postgresql-<port>.log`. */
    logFile: plainPath.optional(),
  })
  .strict();

export const migrationHostSchema = z
  .object({
    host: hostname,
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
    /** Pinned host key: `SHA256:…` fingerprint or the public key line. */
    hostKey: z.string().min(8),
    /** The public key line (`ssh-ed25519 AAAA…`), written to the peer's per-job known_hosts. */
    hostPublicKey: z.string().regex(/^ssh-[a-z0-9-]+ [A-Za-z0-9+\/=]+(?: .*)?$/),
    /** The portal's private key for this host. */
    privateKey: secretRef,
    /**
     * Prefix of every data path on this host (`/` on a real host). Lets two test hosts share one file
     * system; the app's paths (`/var/lib/forgejo`) are appended to it.
     */
    pathPrefix: plainPath.default('/'),
    postgres: postgresHostSchema.optional(),
  })
  .strict()
  // A loopback default would make the target stream from itself: the cluster is on the host, at its address.
  .transform(({ postgres, ...host }): typeof host & { postgres?: ClusterOnHost } =>
    postgres ? { ...host, postgres: { ...postgres, address: postgres.address ?? host.host } } : host,
  );

type ClusterOnHost = z.infer<typeof postgresHostSchema> & { address: string };

/** A Proxmox guest by cluster, node and VMID. */
export const guestLocationSchema = z
  .object({
    cluster: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/),
    node: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/),
    vmid: z.number().int().min(100).max(999_999_999),
  })
  .strict();

export const migrationParamsSchema = z
  .object({
    app: z
      .object({
        name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
        dataClasses: dataClassesSchema,
        /** Files holding the domain identity (signing keys, secrets, .env files); copied and verified by hash. */
        identityPaths: z.array(plainPath).default([]),
        /** Run on the target after the cut-over; must exit 0 (e.g. `[curl, -fsS, http://127.0.0.1/health]`). */
        healthCommand: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict(),
    source: migrationHostSchema,
    target: migrationHostSchema,
    /** How the source host reaches the target host for rsync (a key file already on the source host). */
    peer: z
      .object({
        /** Address of the target as seen from the source; default `target.host`. */
        host: hostname.optional(),
        identityFile: plainPath,
        /**
         * The key pair was made for this migration, named and commented `fediversity-migration-<8 hex>` (the
         * key file's name): once the target serves, the observe step revokes it (revokePeerKey). A key the
         * operator names is never touched.
         */
        madeForMigration: z.boolean().default(false),
      })
      .strict(),
    /** Replication role used by the target to stream from the source. */
    replicationUser: identifier.default('postgres'),
    /**
     * The replication role's password, where the source's pg_hba.conf asks for one (`scram-sha-256`): it
     * reaches the target's cluster only as a passfile (replicationPassfile.ts), never as an argument, in a
     * connection string or in an event. Without it the role must be trusted for the target's address.
     */
    replicationPassword: secretRef.optional(),
    /**
     * TLS of the target's connections to the source cluster (libpq `sslmode`): the stream crosses providers,
     * so `verify-full` with the CA that signed the source's certificate (a file on the target) is what such a
     * move should use; `prefer` (libpq's default) encrypts only where the source offers TLS.
     */
    replicationTls: replicationTlsSchema,
    /**
     * PostgreSQL method: physical streaming when the majors are equal, logical replication when they differ
     * (`auto`), or forced. Logical replication moves the listed databases (schema first, then the data).
     */
    postgresMethod: z.enum(['auto', 'physical', 'logical']).default('auto'),
    postgresDatabases: z.array(identifier).min(1).default(['postgres']),
    /**
     * The Proxmox guest the instance runs on before the migration (the source). Kept after the migration; the
     * `instance.decommission` job destroys exactly this guest, and only when it is recorded here.
     */
    sourceGuest: guestLocationSchema.optional(),
    /** Provision the target guest on Proxmox first; without it the target host must exist. */
    provision: z
      .object({
        cluster: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/),
        node: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/),
        ostemplate: z.string().min(1).max(255),
        storage: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/),
        diskGb: z.number().int().min(1).max(65536),
        memoryMb: z.number().int().min(64).max(1_048_576).default(2048),
        cores: z.number().int().min(1).max(512).default(2),
        /**
         * The VMID to create the guest with, allocated (nextid) when the migration was planned so the target's
         * SSH endpoint is known before the job starts; the guest is created with exactly this id or not at all.
         */
        vmid: z.number().int().min(100).max(999_999_999).optional(),
      })
      .strict()
      .optional(),
    dns: z
      .object({
        zone: hostname,
        name: z.string().regex(/^(@|[A-Za-z0-9_*.-]{1,253})$/),
        type: z.enum(['A', 'AAAA']),
        ttl: z.number().int().min(1).max(86_400).default(60),
        /** The address clients should reach after the cut-over. */
        targetAddress: z.string().ip(),
      })
      .strict()
      .optional(),
    catchUp: z
      .object({
        /** A catch-up round counts as caught up when it takes less than this. */
        passBudgetSeconds: z.number().min(0.1).max(3600).default(10),
        /** Rounds under budget in a row before the migration waits for approval. */
        roundsUnderBudget: z.number().int().min(1).max(10).default(2),
        maxRounds: z.number().int().min(1).max(1000).default(20),
        /** WAL bytes the standby may be behind and still count as caught up. */
        maxLagBytes: z.number().int().min(0).default(16 * 1024 * 1024),
      })
      .strict()
      .default({}),
    /**
     * How long the cut-over approval may wait; then the job is cancelled and rolled back (the source was never
     * quiesced, so it keeps serving). Default 24 h.
     */
    approvalTimeoutSeconds: z.number().int().min(60).max(30 * 86_400).default(86_400),
    /** Seconds the target is watched after the cut-over before the job completes. */
    observeSeconds: z.number().min(0).max(7 * 86_400).default(10),
    /** Free space on the target must be at least this multiple of the source's data. */
    minFreeSpaceRatio: z.number().min(1).max(10).default(1.2),
  })
  .strict();

/**
 * A target guest the migration creates on a real cluster: its address (from Proxmox) and its host key (pinned
 * on first contact) exist only once it runs, so the provision step binds them (bindTarget).
 */
export const lateBoundTargetSchema = z
  .object({
    bindAfterProvision: z.literal(true),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
    privateKey: secretRef,
    pathPrefix: plainPath.default('/'),
    postgres: postgresHostSchema.omit({ address: true }).strict().optional(),
  })
  .strict();

/**
 * What an `instance.migrate` job is created with: migrationParamsSchema, except that the target may be bound
 * after provisioning (lateBoundTargetSchema), and then also the DNS record's address (the target's own).
 */
export const migrationJobParamsSchema = migrationParamsSchema
  .extend({
    target: z.union([migrationHostSchema, lateBoundTargetSchema]),
    dns: migrationParamsSchema.shape.dns.unwrap().extend({ targetAddress: z.string().ip().optional() }).strict().optional(),
  })
  .strict()
  .superRefine((params, issues) => {
    const late = isLateBound(params.target);
    if (late && params.provision?.vmid === undefined) {
      issues.addIssue({ code: 'custom', path: ['target'], message: 'a target bound after provisioning needs `provision` with its `vmid`' });
    }
    if (params.peer.madeForMigration && !MIGRATION_KEY_NAME.test(posix.basename(params.peer.identityFile))) {
      issues.addIssue({ code: 'custom', path: ['peer', 'identityFile'], message: 'a key made for the migration is named fediversity-migration-<8 hex>' });
    }
    if (!late && params.dns && params.dns.targetAddress === undefined) {
      issues.addIssue({ code: 'custom', path: ['dns', 'targetAddress'], message: 'required where the target is known' });
    }
  });

export function isLateBound(target: MigrationJobParams['target']): target is LateBoundTarget {
  return 'bindAfterProvision' in target;
}

/** Where the provision step found the new target guest, and the host key it presented first. */
export interface TargetEndpoint {
  /** The guest's IPv4 address (from Proxmox): the DNS record points there. */
  address: string;
  host: string;
  port: number;
  username: string;
  hostPublicKey: string;
  hostKeyFingerprint: string;
}

/**
 * The job's params with its target bound: as they are where the target was known when the job was created,
 * else with the endpoint the provision step recorded; undefined while a late-bound target has none yet.
 */
export function bindTarget(params: MigrationJobParams, endpoint?: TargetEndpoint): MigrationParams | undefined {
  const { target, dns } = params;
  // Validated at the job's creation: with a known target, the DNS record's address is there too.
  if (!isLateBound(target)) return params as MigrationParams;
  if (!endpoint) return undefined;
  const { bindAfterProvision: _late, ...login } = target;
  return migrationParamsSchema.parse({
    ...params,
    target: { ...login, host: endpoint.host, port: endpoint.port, hostKey: endpoint.hostKeyFingerprint, hostPublicKey: endpoint.hostPublicKey },
    ...(dns ? { dns: { ...dns, targetAddress: dns.targetAddress ?? endpoint.address } } : {}),
  });
}

export type MigrationParams = z.infer<typeof migrationParamsSchema>;
export type MigrationJobParams = z.infer<typeof migrationJobParamsSchema>;
export type LateBoundTarget = z.infer<typeof lateBoundTargetSchema>;
export type MigrationHost = z.infer<typeof migrationHostSchema>;
export type GuestLocation = z.infer<typeof guestLocationSchema>;
export type PostgresHost = NonNullable<MigrationHost['postgres']>;
