import { InputError } from '@backstage/errors';
import type { ReplicationSslMode, ReplicationTls } from '@fediversity/plugin-fediversity-common';

/**
 * How a client program or a standby reaches a PostgreSQL server besides host, port and user: a passfile
 * holding the role's password, and TLS. Every value must be allow-listed (a plain path, an enum): each
 * becomes one word of an environment or a connection string.
 */
export interface LibpqSettings {
  passfile?: string;
  sslmode: ReplicationSslMode;
  sslrootcert?: string;
}

/** A replication connection's settings: its TLS, and the passfile where the role has a password. */
export function libpqSettings(tls: ReplicationTls, passfile?: string): LibpqSettings {
  return { ...(passfile ? { passfile } : {}), sslmode: tls.mode, ...(tls.rootCert ? { sslrootcert: tls.rootCert } : {}) };
}

/**
 * As a client program's environment (`NAME=value` words for `env`): pg_basebackup -R writes what it connected
 * with into the standby's primary_conninfo (`passfile=`, `sslmode=`, never the password).
 */
export function libpqEnvironment(settings: LibpqSettings): string[] {
  return [
    ...(settings.passfile ? [`PGPASSFILE=${settings.passfile}`] : []),
    `PGSSLMODE=${settings.sslmode}`,
    ...(settings.sslrootcert ? [`PGSSLROOTCERT=${settings.sslrootcert}`] : []),
  ];
}

/** As connection-string keywords (a subscription's CONNECTION). */
export function libpqKeywords(settings: LibpqSettings): string[] {
  return [
    ...(settings.passfile ? [`passfile=${settings.passfile}`] : []),
    `sslmode=${settings.sslmode}`,
    ...(settings.sslrootcert ? [`sslrootcert=${settings.sslrootcert}`] : []),
  ];
}

/**
 * One passfile line, `host:port:*:user:password`: that role on that server, every database (`*`: the
 * replication pseudo-database and a subscription's own). libpq reads `\` as an escape there, so `:` and `\`
 * in a field are escaped; a line break cannot be written and is refused, as is an empty password.
 */
export function passfileLine(entry: { host: string; port: number; user: string; password: string }): string {
  if (/[\r\n]/.test(entry.password)) throw new InputError('The replication password contains a line break, which a passfile cannot hold');
  if (entry.password.length === 0) throw new InputError('The replication password is empty');
  const field = (value: string) => value.replace(/[\\:]/g, character => `\\${character}`);
  return [entry.host, String(entry.port), '*', entry.user, entry.password].map(field).join(':');
}
