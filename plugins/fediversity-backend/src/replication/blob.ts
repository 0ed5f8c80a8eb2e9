import { InputError } from '@backstage/errors';
import { assertHostname } from '@fediversity/plugin-fediversity-node';
import { CommandRunner } from './commandRunner';

/*
 * Blob data class: generic S3 bucket-to-bucket replication with rclone (any S3 provider on either side), then a
 * verification that both sides hold the same objects with equal size and hash (the MD5 ETag of single-part
 * objects). Credentials are per bucket (the source's read-only), reach rclone on stdin and never on a command line.
 */

export interface S3Location {
  /** http(s)://host[:port] of the S3 API. */
  endpoint: string;
  region?: string;
  bucket: string;
  /** Only objects under this key prefix. */
  prefix?: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface BlobReplicationOptions {
  /** Where rclone runs (a host near the data, or the portal itself). */
  runner: CommandRunner;
  source: S3Location;
  target: S3Location;
  transfers?: number;
  rcloneBinary?: string;
  now: () => number;
  signal?: AbortSignal;
  log?(message: string, fields?: Record<string, unknown>, level?: 'info' | 'warn'): Promise<void> | void;
}

export interface BlobReplicationResult {
  /** When the source listing began: objects written before are in the copy. */
  consistentAt: number;
  objects: number;
  bytes: number;
  verified: true;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9!_.*'()/-]{0,512}$/;
const REGION = /^[a-z0-9-]{1,32}$/;

function validateLocation(location: S3Location, what: string) {
  let url: URL;
  try {
    url = new URL(location.endpoint);
  } catch {
    throw new InputError(`Invalid ${what} endpoint`);
  }
  if (!/^https?:$/.test(url.protocol) || url.username || url.password || (url.pathname !== '/' && url.pathname !== '')) {
    throw new InputError(`Invalid ${what} endpoint: expected http(s)://host[:port]`);
  }
  assertHostname(url.hostname.replace(/^\[|\]$/g, ''), `${what} endpoint host`);
  if (!BUCKET.test(location.bucket)) throw new InputError(`Invalid ${what} bucket ${JSON.stringify(location.bucket)}`);
  if (location.prefix !== undefined && (!PREFIX.test(location.prefix) || location.prefix.split('/').includes('..'))) {
    throw new InputError(`Invalid ${what} prefix`);
  }
  if (location.region !== undefined && !REGION.test(location.region)) throw new InputError(`Invalid ${what} region`);
  for (const value of [location.accessKeyId, location.secretAccessKey]) {
    if (!value || /[\r\n\0]/.test(value)) throw new InputError(`Invalid ${what} credentials`);
  }
}

/** Reads the four secrets from stdin into rclone's environment, then runs rclone. Constant text, no input in it. */
const WITH_SECRETS_FROM_STDIN = [
  'IFS= read -r a && IFS= read -r b && IFS= read -r c && IFS= read -r d || exit 97',
  'export RCLONE_CONFIG_SRC_ACCESS_KEY_ID="$a" RCLONE_CONFIG_SRC_SECRET_ACCESS_KEY="$b"',
  'export RCLONE_CONFIG_DST_ACCESS_KEY_ID="$c" RCLONE_CONFIG_DST_SECRET_ACCESS_KEY="$d"',
  // A CA bundle rclone cannot load fails every call (LoadCustomCABundleError); TLS uses the system store.
  'unset AWS_CA_BUNDLE',
  'exec "$@"',
].join('\n');

function remoteSettings(name: 'SRC' | 'DST', location: S3Location): string[] {
  return [
    `RCLONE_CONFIG_${name}_TYPE=s3`,
    `RCLONE_CONFIG_${name}_PROVIDER=Other`,
    `RCLONE_CONFIG_${name}_ENDPOINT=${location.endpoint}`,
    `RCLONE_CONFIG_${name}_REGION=${location.region ?? 'us-east-1'}`,
    `RCLONE_CONFIG_${name}_FORCE_PATH_STYLE=true`,
  ];
}

function remotePath(name: 'src' | 'dst', location: S3Location): string {
  const prefix = location.prefix ? `/${location.prefix.replace(/^\/+|\/+$/g, '')}` : '';
  return `${name}:${location.bucket}${prefix}`;
}

/** Runs rclone with both remotes configured; secrets on stdin. */
export function runRclone(
  options: Pick<BlobReplicationOptions, 'runner' | 'source' | 'target' | 'rcloneBinary' | 'signal'>,
  args: string[],
  check = true,
) {
  validateLocation(options.source, 'source');
  validateLocation(options.target, 'target');
  const argv = [
    'env',
    'RCLONE_CONFIG=/dev/null',
    ...remoteSettings('SRC', options.source),
    ...remoteSettings('DST', options.target),
    'sh', '-c', WITH_SECRETS_FROM_STDIN, 'sh',
    options.rcloneBinary ?? 'rclone',
    ...args,
  ];
  const stdin = [
    options.source.accessKeyId,
    options.source.secretAccessKey,
    options.target.accessKeyId,
    options.target.secretAccessKey,
    '',
  ].join('\n');
  return options.runner.run(argv, { signal: options.signal, stdin, check });
}

export async function replicateBlobs(options: BlobReplicationOptions): Promise<BlobReplicationResult> {
  const source = remotePath('src', options.source);
  const target = remotePath('dst', options.target);
  const consistentAt = options.now();
  // --fast-list: one recursive listing (also the only listing some S3 servers answer correctly);
  // --checksum: compare size + hash, not modification times (they differ between providers).
  await runRclone(options, [
    'sync', '--checksum', '--fast-list', '--transfers', String(options.transfers ?? 8), '--retries', '1', '--', source, target,
  ]);
  const check = await runRclone(options, ['check', '--fast-list', '--', source, target], false);
  if (check.exitCode !== 0) {
    throw new Error(`Verification failed: source and target differ: ${check.stderr.trim().slice(-800)}`);
  }
  const size = await runRclone(options, ['size', '--fast-list', '--json', '--', target]);
  const { count, bytes } = JSON.parse(size.stdout) as { count: number; bytes: number };
  await options.log?.(`Replicated and verified ${count} objects (${bytes} bytes)`);
  return { consistentAt, objects: count, bytes, verified: true };
}
