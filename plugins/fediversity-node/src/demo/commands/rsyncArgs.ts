/*
 * The rsync command lines the demo host accepts: `rsync --version`, and a push from a path on this
 * guest to `<user>@<host>:<path>` over ssh, with the options the migration and replication use.
 * Options reach the real rsync only from an allow-list: anything that names another path
 * (--temp-dir, --log-file…) or follows symlinks (-L, -k, -K) could leave a guest, so it is refused;
 * `--link-dest` is taken apart so its path can be translated into the destination guest.
 */

export class RsyncUsageError extends Error {
  override name = 'RsyncUsageError';
}

export interface RemoteDestination {
  user?: string;
  /** Without the brackets of an IPv6 literal. */
  host: string;
  path: string;
}

export interface RsyncPush {
  kind: 'push';
  /** Passed to the local rsync unchanged. */
  options: string[];
  /** `-e`/`--rsh` value; rsync's default is plain `ssh`. */
  remoteShell: string;
  /** `--files-from` list, a file on the source guest. */
  filesFrom?: string;
  /** The list is NUL-separated (`--from0`/`-0`), else one entry a line. */
  from0: boolean;
  /** A path on the source guest; a trailing `/` copies the directory's contents. */
  source: string;
  destination: RemoteDestination;
  /** `--link-dest` paths on the destination guest (absolute), in order. */
  linkDest: string[];
}

export type RsyncInvocation = { kind: 'version' } | RsyncPush;

const LONG_FLAGS = new Set([
  '--archive',
  '--recursive',
  '--hard-links',
  '--numeric-ids',
  '--delete',
  '--partial',
  '--stats',
  '--checksum',
  '--dry-run',
  '--itemize-changes',
  // Output only: names printed in UTF-8 rather than escaped.
  '--8-bit-output',
  '--whole-file',
  '--no-whole-file',
  '--inplace',
  '--compress',
  '--no-compress',
  '--no-inc-recursive',
  '--verbose',
  '--human-readable',
  '--progress',
  '--one-file-system',
  // Creates missing directories of the destination path, which is translated into the guest.
  '--mkpath',
]);
/** -a (which keeps symlinks as symlinks) and friends; never -L, -k or -K. */
const SHORT_FLAGS = /^-[aHrcnizW0vhPtpogDlx]+$/;
const VALUED_OPTIONS: Record<string, RegExp> = {
  '--checksum-choice': /^[a-z0-9,]+$/,
  '--compress-choice': /^[a-z0-9,]+$/,
  '--modify-window': /^-?[0-9]+$/,
  '--out-format': /^[%A-Za-z0-9 :._'[\]-]*$/,
  '--info': /^[A-Za-z0-9,]+$/,
  // Output only (the migration's final pass watches for the client's transfer-done line).
  '--debug': /^[A-Za-z0-9,]+$/,
  '--timeout': /^[0-9]+$/,
  '--bwlimit': /^[0-9.]+[KMGkmg]?$/,
};
const DESTINATION = /^(?:([A-Za-z0-9_][A-Za-z0-9_.-]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\/.*)$/;

export function parseRsyncArgv(args: readonly string[]): RsyncInvocation {
  if (args.length === 1 && args[0] === '--version') return { kind: 'version' };
  const options: string[] = [];
  const operands: string[] = [];
  let remoteShell = 'ssh';
  let filesFrom: string | undefined;
  let from0 = false;
  const linkDest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    if (arg === '-e') {
      if (i + 1 >= args.length) throw new RsyncUsageError('-e needs a value');
      remoteShell = args[++i];
      continue;
    }
    const [name, value] = splitOption(arg);
    if (name === '--rsh' && value !== undefined) remoteShell = value;
    else if (name === '--files-from' && value !== undefined) filesFrom = value;
    else if (name === '--from0') from0 = true;
    else if (name === '--link-dest' && value !== undefined) {
      if (!value.startsWith('/')) throw new RsyncUsageError('--link-dest must be an absolute path on the destination guest');
      linkDest.push(value);
    }
    else if (LONG_FLAGS.has(arg)) options.push(arg);
    else if (SHORT_FLAGS.test(arg)) {
      options.push(arg);
      if (arg.includes('0')) from0 = true;
    } else if (value !== undefined && VALUED_OPTIONS[name]?.test(value)) options.push(arg);
    else throw new RsyncUsageError(`option ${JSON.stringify(arg)} is not supported by this demo host`);
  }
  if (operands.length !== 2) {
    throw new RsyncUsageError('expected exactly one source path and one <user>@<host>:<path> destination');
  }
  const [source, destination] = operands;
  if (!source.startsWith('/')) throw new RsyncUsageError('the source must be an absolute path on this guest');
  const match = DESTINATION.exec(destination);
  if (!match) throw new RsyncUsageError('the destination must be <user>@<host>:<absolute path>');
  return {
    kind: 'push',
    options,
    remoteShell,
    filesFrom,
    from0,
    source,
    destination: { user: match[1], host: match[2].replace(/^\[(.*)\]$/, '$1'), path: match[3] },
    linkDest,
  };
}

function splitOption(arg: string): [string, string | undefined] {
  const equals = arg.indexOf('=');
  return equals < 0 ? [arg, undefined] : [arg.slice(0, equals), arg.slice(equals + 1)];
}
