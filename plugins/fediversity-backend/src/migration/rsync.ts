import { knownHostsLine, PeerEndpoint, rsyncPushArgv } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { StrategyEnv } from './strategy';

/** rsync's exit code for "some files vanished before they could be transferred". */
export const RSYNC_VANISHED = 24;
/** rsync's exit codes for a full disk on the receiving side (write error / partial transfer). */
const NO_SPACE = /No space left on device/;

/** The per-job known_hosts file on the source host, holding the target's pinned key. */
export function knownHostsPath(jobId: string): string {
  return `/tmp/fediversity-migration-${jobId.replace(/[^A-Za-z0-9-]/g, '')}.known_hosts`;
}

export function peerOf(env: StrategyEnv): PeerEndpoint {
  const { params } = env;
  return {
    host: params.peer.host ?? params.target.host,
    port: params.target.port,
    username: params.target.username,
    knownHostsFile: knownHostsPath(env.jobId),
    identityFile: params.peer.identityFile,
    connectTimeoutSeconds: 10,
  };
}

/** Writes the target's pinned key where the source's ssh (run by rsync) checks it. Same content every time. */
export async function ensurePeerTrust(env: StrategyEnv): Promise<void> {
  const peer = peerOf(env);
  const line = knownHostsLine(peer.host, peer.port, env.params.target.hostPublicKey);
  await env.source.run(['tee', '--', peer.knownHostsFile], { stdin: line, signal: env.signal });
}

export interface RsyncPass {
  sourcePath: string;
  targetPath: string;
  /** live: exit 24 (files vanished under a running app) is normal; final/verify: fatal. */
  mode: 'live' | 'final' | 'verify';
  delete?: boolean;
  checksum?: boolean;
  /** A NUL-separated list (a file on the source host) of entries below sourcePath to copy instead of all. */
  filesFrom?: string;
}

/**
 * Ciphers in order of preference for the host-to-host stream: AES-GCM is the fastest where the CPU has AES
 * instructions (replication.md §4.3), ChaCha20 otherwise.
 */
const PEER_CIPHERS = 'aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com';

export interface RsyncOutcome {
  exitCode: number;
  seconds: number;
  /** verify mode: the itemized differences (empty = identical). */
  differences: string[];
}

/** Runs rsync on the source host, pushing to the target host over ssh with the pinned key. */
export async function rsyncFromSource(env: StrategyEnv, pass: RsyncPass): Promise<RsyncOutcome> {
  const argv = rsyncPushArgv({
    sourcePath: pass.sourcePath,
    targetPath: pass.targetPath,
    peer: peerOf(env),
    delete: pass.delete ?? pass.mode !== 'live',
    partial: pass.mode === 'live',
    checksum: pass.checksum ?? pass.mode === 'verify',
    numericIds: true,
  });
  // Live and final passes compare mtimes to the nanosecond, so a same-size rewrite within the same second
  // is still copied; the verify pass compares content (-c), which also catches a rewrite with a reset mtime.
  const extra = ['--checksum-choice=xxh128', '--modify-window=-1'];
  if (pass.mode === 'verify') extra.push('--dry-run', '--itemize-changes', '--out-format=%i %n');
  if (pass.filesFrom) extra.push('-r', '--from0', `--files-from=${pass.filesFrom}`);
  argv.splice(1, 0, ...extra);
  // rsync splits -e on spaces: only plain words are appended to the validated remote shell.
  const shell = argv.indexOf('-e') + 1;
  argv[shell] = `${argv[shell]} -o Ciphers=${PEER_CIPHERS}`;
  const started = env.now();
  const result = await env.source.run(argv, { signal: env.signal, check: false });
  const seconds = (env.now() - started) / 1000;
  const exitCode = result.exitCode ?? -1;
  const ok = exitCode === 0 || (pass.mode === 'live' && exitCode === RSYNC_VANISHED);
  if (!ok) {
    const tail = result.stderr.trim().split('\n').slice(-5).join(' | ');
    const message = `rsync ${pass.mode} pass ${pass.sourcePath} → target:${pass.targetPath} exited with ${exitCode}${
      exitCode === RSYNC_VANISHED ? ' (files vanished: the source was not quiesced)' : ''
    }: ${tail}`;
    if (NO_SPACE.test(result.stderr)) throw new Error(`Target disk full: ${message}`);
    throw new Error(message);
  }
  const differences = pass.mode === 'verify' ? result.stdout.split('\n').filter(line => line.trim() !== '') : [];
  return { exitCode, seconds, differences };
}

export function assertIdentical(what: string, outcome: RsyncOutcome): void {
  if (outcome.differences.length) {
    throw new PermanentJobError(
      `Verification failed: ${what} differs in ${outcome.differences.length} item(s), e.g. ${outcome.differences
        .slice(0, 5)
        .join(', ')}`,
    );
  }
}
