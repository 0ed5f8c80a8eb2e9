import { isIP } from 'node:net';
import { InputError } from '@backstage/errors';

/*
 * Allow-lists for identifiers that end up on a remote command line. Quoting already keeps them
 * from the shell; these checks keep them from being read as options (`-oProxyCommand=…`) or from
 * pointing somewhere unexpected (`../`), and make bad input fail early with a clear message.
 */

const HOSTNAME_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}\\.?$)${HOSTNAME_LABEL}(?:\\.${HOSTNAME_LABEL})*\\.?$`);
const USERNAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const SYSTEMD_UNIT = /^[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,254}$/;
const ZFS_DATASET = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,254}$/;
const ZFS_SNAPSHOT_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;
/** Characters allowed in paths handed to tools that re-split them (rsync `-e`, remote `host:path`). */
const PLAIN_PATH = /^\/[A-Za-z0-9._@+/-]*$/;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
}

/** A DNS hostname (LDH labels) or an IPv4/IPv6 literal. */
export function assertHostname(value: unknown, what = 'hostname'): string {
  if (typeof value === 'string' && (HOSTNAME.test(value) || isIP(value) !== 0)) {
    return value;
  }
  throw new InputError(`Invalid ${what} ${describe(value)}: expected a DNS name or an IP address`);
}

/** A POSIX login name as useradd accepts it by default. */
export function assertUsername(value: unknown, what = 'username'): string {
  if (typeof value === 'string' && USERNAME.test(value)) return value;
  throw new InputError(`Invalid ${what} ${describe(value)}: expected ${USERNAME}`);
}

/** A systemd unit name (`mastodon-web.service`, `postgresql`), never starting with `-`. */
export function assertUnitName(value: unknown, what = 'unit name'): string {
  if (typeof value === 'string' && SYSTEMD_UNIT.test(value)) return value;
  throw new InputError(`Invalid ${what} ${describe(value)}: expected ${SYSTEMD_UNIT}`);
}

export function assertPort(value: unknown, what = 'port'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535) {
    return value;
  }
  throw new InputError(`Invalid ${what} ${describe(value)}: expected an integer 1-65535`);
}

/** A ZFS dataset (`tank/apps/mastodon`), optionally with `@snapshot`. */
export function assertZfsDataset(value: unknown, what = 'ZFS dataset'): string {
  if (typeof value === 'string') {
    const [dataset, snapshot, ...rest] = value.split('@');
    if (
      rest.length === 0 &&
      ZFS_DATASET.test(dataset) &&
      !dataset.split('/').some(part => part === '' || part === '.' || part === '..') &&
      (snapshot === undefined || ZFS_SNAPSHOT_NAME.test(snapshot))
    ) {
      return value;
    }
  }
  throw new InputError(`Invalid ${what} ${describe(value)}`);
}

export interface RemotePathOptions {
  /** The path must be this directory or lie below it. */
  under?: string;
  /** Also refuse characters that tools re-split (whitespace, quotes, shell metacharacters). */
  plain?: boolean;
}

/**
 * An absolute remote path: no NUL, no newline, no `.`/`..` segments (so `under` cannot be escaped
 * lexically). Symlinks on the remote side are the remote's business; confine with rrsync or
 * ownership there.
 */
export function assertRemotePath(value: unknown, what = 'path', options: RemotePathOptions = {}): string {
  const fail = (why: string): never => {
    throw new InputError(`Invalid ${what} ${describe(value)}: ${why}`);
  };
  if (typeof value !== 'string') return fail('not a string');
  if (!value.startsWith('/')) fail('must be absolute');
  if (value.length > 4096) fail('too long');
  if (/[\0\n\r]/.test(value)) fail('contains NUL or a line break');
  if (value.split('/').some(part => part === '.' || part === '..')) fail('contains . or .. segments');
  if (options.plain && !PLAIN_PATH.test(value)) fail(`only ${PLAIN_PATH} is allowed here`);
  if (options.under !== undefined) {
    const root = options.under.replace(/\/+$/, '');
    if (value !== root && !value.startsWith(`${root}/`)) fail(`must be under ${options.under}`);
  }
  return value;
}
