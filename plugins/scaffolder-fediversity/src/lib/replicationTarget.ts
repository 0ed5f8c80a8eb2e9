import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { replicationTlsSchema } from '@fediversity/plugin-fediversity-common';
import { z } from 'zod';

const plainPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._@+/-]*$/, 'must be an absolute plain path')
  .refine(path => !path.split('/').includes('..'), 'must not contain ..');

/**
 * Where provisioning points new instances' replication: a second host reached over SSH with a pinned key.
 * File data classes land under `<root>/<instance>/<data class>`; PostgreSQL standbys under
 * `<postgres.dataRoot>/<instance>`, each on its own port.
 */
export const replicationTargetSchema = z
  .object({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a user name'),
    /** `ssh-ed25519 AAAA…`: the target's public host key, pinned by every replication run. */
    hostPublicKey: z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+$/, 'must be "<type> <base64>"'),
    root: plainPath,
    postgres: z
      .object({
        bin: plainPath,
        dataRoot: plainPath,
        osUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).default('postgres'),
        socketDir: plainPath.default('/run/postgresql'),
        /** Standby of a guest with VMID v listens on basePort + v mod 10000. */
        basePort: z.number().int().min(1024).max(55535).default(15432),
        /** The role standbys stream as (the guests' pg_hba.conf lets it replicate). */
        replicationUser: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default('replicator'),
        /** Its password by name under `fediversity.replication.postgresPasswords`, where the guests ask for one. */
        replicationPasswordRef: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/).optional(),
        /** TLS of the standbys' connections (libpq sslmode; the CA a file on this host). */
        replicationTls: replicationTlsSchema,
      })
      .strict()
      .optional(),
  })
  .strict();

export type ReplicationTarget = z.output<typeof replicationTargetSchema>;
export type ReplicationTargetInput = z.input<typeof replicationTargetSchema>;

export function parseReplicationTarget(value: unknown, where: string): ReplicationTarget {
  const result = replicationTargetSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map(issue => `${[where, ...issue.path].join('.')}: ${issue.message}`);
    throw new InputError(`Invalid replication target: ${issues.join('; ')}`);
  }
  return result.data;
}

/** `fediversity.provisioning.replicationTarget`, read once by the module; undefined when not configured. */
export function readReplicationTarget(config: Config): ReplicationTarget | undefined {
  const key = 'fediversity.provisioning.replicationTarget';
  const value = config.getOptional(key);
  return value === undefined ? undefined : parseReplicationTarget(value, key);
}
