import { InputError } from '@backstage/errors';
import { toCommandLine } from './commandLine';
import { assertHostname, assertPort, assertRemotePath, assertUsername } from './identifiers';

/*
 * Argv builders for commands that run ON a source host and push data straight to a target host,
 * so the bytes go host to host and the portal only orchestrates. The ssh CLI on the source host is
 * locked down: batch mode, strict host key checking against a per-job known_hosts file (written
 * beforehand with `knownHostsLine`), and only the given identity.
 */

export interface PeerEndpoint {
  host: string;
  port: number;
  username: string;
  /** known_hosts file on the source host holding the peer's pinned key. */
  knownHostsFile: string;
  /** Private key file on the source host; default: the source user's configured keys. */
  identityFile?: string;
  connectTimeoutSeconds?: number;
}

function validatePeer(peer: PeerEndpoint): void {
  assertHostname(peer.host, 'peer host');
  assertPort(peer.port, 'peer port');
  assertUsername(peer.username, 'peer username');
  // rsync re-splits its -e value on spaces, so these paths must be plain.
  assertRemotePath(peer.knownHostsFile, 'known_hosts file', { plain: true });
  if (peer.identityFile !== undefined) {
    assertRemotePath(peer.identityFile, 'identity file', { plain: true });
  }
}

/** `ssh` options without the destination, shared by sshArgv and rsync's `-e`. */
function sshOptions(peer: PeerEndpoint): string[] {
  const options = [
    '-p', String(peer.port),
    '-l', peer.username,
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${peer.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `ConnectTimeout=${peer.connectTimeoutSeconds ?? 20}`,
  ];
  if (peer.identityFile !== undefined) {
    options.push('-o', 'IdentitiesOnly=yes', '-i', peer.identityFile);
  }
  return options;
}

/**
 * `ssh … -- host '<quoted remote argv>'`: the remote argv is quoted once for the peer's shell;
 * when this argv is itself sent over SshConnection it is quoted again for the source's shell.
 */
export function sshArgv(peer: PeerEndpoint, remoteArgv: readonly string[]): string[] {
  validatePeer(peer);
  return ['ssh', ...sshOptions(peer), '--', peer.host, toCommandLine(remoteArgv)];
}

export interface RsyncPushOptions {
  /** Directory or file on the source host; a trailing `/` copies the directory's contents. */
  sourcePath: string;
  peer: PeerEndpoint;
  /** Absolute destination path on the peer. */
  targetPath: string;
  /** Remove files on the target that are gone on the source (mirror). */
  delete?: boolean;
  /** Keep partially transferred files so an interrupted sync resumes. */
  partial?: boolean;
  /** Print a machine-readable summary (`--stats`). */
  stats?: boolean;
  /** Keep uid/gid numbers instead of mapping by name (only when both hosts agree on them). */
  numericIds?: boolean;
  /** Compare checksums instead of size+mtime (the final, verifying pass). */
  checksum?: boolean;
}

/** `rsync -a … -e 'ssh …' -- src user@peer:dst`, to run on the source host. */
export function rsyncPushArgv(options: RsyncPushOptions): string[] {
  const { peer } = options;
  validatePeer(peer);
  assertRemotePath(options.sourcePath.replace(/(.)\/$/, '$1'), 'rsync source', { plain: true });
  assertRemotePath(options.targetPath.replace(/(.)\/$/, '$1'), 'rsync target', { plain: true });
  const remoteShellWords = ['ssh', ...sshOptions(peer)];
  if (!remoteShellWords.every(word => /^[A-Za-z0-9_@%+=:,./-]+$/.test(word))) {
    // rsync splits -e on spaces and has no backslash escapes, so only plain words are safe.
    throw new InputError('rsync remote shell options must be plain words');
  }
  const remoteShell = remoteShellWords.join(' ');
  const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
  return [
    'rsync',
    '-aH',
    ...(options.numericIds ? ['--numeric-ids'] : []),
    ...(options.delete ? ['--delete'] : []),
    ...(options.partial ? ['--partial'] : []),
    ...(options.stats ? ['--stats'] : []),
    ...(options.checksum ? ['--checksum'] : []),
    '-e',
    remoteShell,
    '--',
    options.sourcePath,
    `${peer.username}@${host}:${options.targetPath}`,
  ];
}

/**
 * `producer | ssh peer consumer` with bash's pipefail, so a failing producer (e.g. `zfs send`)
 * fails the whole step instead of being masked by a successful consumer.
 */
export function pipeToPeerArgv(
  producerArgv: readonly string[],
  peer: PeerEndpoint,
  consumerArgv: readonly string[],
): string[] {
  const script = `${toCommandLine(producerArgv)} | ${toCommandLine(sshArgv(peer, consumerArgv))}`;
  return ['bash', '-o', 'pipefail', '-c', script];
}
