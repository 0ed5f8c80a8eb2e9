import { knownHostsLine, PeerEndpoint, rsyncPushArgv, sshArgv } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { HostShell, watchLines } from './hosts';
import { GATE_LINE, ReadyCommand, startReady, withoutGateLines } from './readyCommands';
import { StrategyEnv } from './strategy';

/** rsync's exit code for "some files vanished before they could be transferred". */
export const RSYNC_VANISHED = 24;
/** rsync's exit codes for a full disk on the receiving side (write error / partial transfer). */
const NO_SPACE = /No space left on device/;

/**
 * Ciphers in order of preference for the host-to-host stream: AES-GCM is the fastest where the CPU has AES
 * instructions (replication.md §4.3), ChaCha20 otherwise.
 */
export const PEER_CIPHERS = 'aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com';

/** The per-job known_hosts file on the source host, holding the target's pinned key (in the job's private directory). */
export function knownHostsPath(jobId: string): string {
  return `${jobDirectory(jobId)}/known_hosts`;
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

/**
 * A per-job directory on the source host, private to the SSH user, holding the target's pinned key, the
 * file lists of parallel passes and the control socket of the host-to-host SSH connection kept open across
 * the downtime window. In a directory another user could write, that user could swap the pinned key or
 * stand in for the connection; a predictable name in /tmp is safe only because it is checked to be ours.
 */
export function jobDirectory(jobId: string): string {
  return `/tmp/fediversity-migration-${jobId.replace(/[^A-Za-z0-9-]/g, '')}.ssh`;
}

function controlPath(jobId: string): string {
  return `${jobDirectory(jobId)}/control`;
}

/** Creates the job's directory on the source, or fails if it exists and is not a directory of the SSH user's. */
export async function ensureJobDirectory(source: HostShell, jobId: string, signal?: AbortSignal): Promise<void> {
  const directory = jobDirectory(jobId);
  await source.run(['mkdir', '-p', '-m', '0700', '--', directory], { signal });
  const owned = await source.run(['test', '-O', directory, '-a', '-d', directory, '-a', '!', '-L', directory], {
    signal,
    check: false,
  });
  if (owned.exitCode !== 0) throw new PermanentJobError(`${directory} on the source belongs to another user`);
  await source.run(['chmod', '0700', '--', directory], { signal });
}

/** ssh options that send a session through the job's open connection, or connect directly if there is none. */
export function throughControlConnection(jobId: string): string[] {
  return ['-o', 'ControlMaster=no', '-o', `ControlPath=${controlPath(jobId)}`];
}

/**
 * Opens the host-to-host SSH connection the window's rsync passes share (OpenSSH multiplexing), before
 * the window: a handshake costs 0.3 s or more on a loaded host, twice per window otherwise. The
 * connection closes itself `idleSeconds` after its last session; an rsync that finds it gone connects
 * directly, so a missing connection costs time, never correctness.
 */
export async function openControlConnection(env: StrategyEnv, idleSeconds: number): Promise<void> {
  await ensureJobDirectory(env.source, env.jobId, env.signal);
  const argv = sshArgv(peerOf(env), ['true']);
  argv.splice(
    1,
    0,
    '-o', `Ciphers=${PEER_CIPHERS}`,
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${controlPath(env.jobId)}`,
    '-o', `ControlPersist=${Math.max(1, Math.ceil(idleSeconds))}`,
  );
  await env.source.run(argv, { signal: env.signal });
}

/** Closes the job's host-to-host connection if it is open (harmless otherwise). */
export async function closeControlConnection(source: HostShell, jobId: string, signal?: AbortSignal): Promise<void> {
  await source.run(['ssh', '-o', `ControlPath=${controlPath(jobId)}`, '-O', 'exit', '--', 'fediversity-peer'], {
    signal,
    check: false,
  });
  await source.run(['rm', '-rf', '--', jobDirectory(jobId)], { signal, check: false });
}

/**
 * A rollback's clean-up on the source: the job's connection closed and its directory removed. An
 * unreachable source keeps them (the pinned key is public, the lists hold names only), which is reported.
 */
export async function removeJobDirectory(env: StrategyEnv): Promise<void> {
  try {
    await closeControlConnection(env.source, env.jobId, env.signal);
  } catch (error) {
    await env.log(`Could not remove ${jobDirectory(env.jobId)} on the source: ${(error as Error).message}`);
  }
}

/**
 * Writes the target's pinned key where the source's ssh (run by rsync, or the switchover's relay) checks
 * it, unless it is there already: strategies prepare the window at once, and a rewrite truncates the file
 * another strategy's ssh may be reading.
 */
export async function ensurePeerTrust(env: StrategyEnv): Promise<void> {
  const peer = peerOf(env);
  const line = knownHostsLine(peer.host, peer.port, env.params.target.hostPublicKey);
  await ensureJobDirectory(env.source, env.jobId, env.signal);
  const current = await env.source.run(['cat', peer.knownHostsFile], { signal: env.signal, check: false });
  if (current.exitCode === 0 && current.stdout === line) return;
  await env.source.run(['tee', '--', peer.knownHostsFile], { stdin: line, signal: env.signal });
}

export interface RsyncPass {
  sourcePath: string;
  targetPath: string;
  /**
   * live: exit 24 (files vanished under a running app) is normal; final/verify: fatal. rehearsal: the
   * verify's dry run while the app still runs (exit 24 normal, differences expected).
   */
  mode: 'live' | 'final' | 'verify' | 'rehearsal';
  delete?: boolean;
  checksum?: boolean;
  /** A NUL-separated list (a file on the source host) of entries below sourcePath to copy instead of all. */
  filesFrom?: string;
  /**
   * Final pass: copy only the entries whose ctime on the source is newer than this (host clock, seconds),
   * every entry of such a directory (deleting on the target what it no longer holds), and `alsoNames`
   * (deleted on the target where the source lacks them).
   */
  changedSince?: number;
  alsoNames?: string[];
  /** Final pass: have rsync print the line that tells its data is all in place (watchTransferEnd). */
  reportsTransferEnd?: boolean;
}

const CHANGED_ENTRIES_SCRIPT = [
  'root=$1 since=$2',
  'shift 2',
  `{ { ${GATE_LINE}; } && (cd -- "$root" && find . -newerct "@$since" \\( -path . -printf ".\\0" -o -type d -printf "%P/.\\0" -o -printf "%P\\0" \\)) && cat; } | "$@" 2>&1`,
].join('\n');

/**
 * `rsyncArgv` (with `--from0 --files-from=-`) fed the entries below `root` whose ctime is newer than `since`,
 * then the names on stdin after a `go` line: a changed directory as `dir/.`, so rsync sends its entries
 * without recursing (a files-from list turns -a's recursion off) and `--delete` removes on the target what
 * it no longer holds. rsync starts at once; the walk waits for `go` (GATE_LINE: without it rsync gets an
 * empty list and copies nothing). A failing find fails the command (pipefail). rsync's messages go to
 * stdout, in order with what else it prints there (watchTransferEnd tells a clean transfer by that order).
 */
export function changedEntriesArgv(root: string, since: number, rsyncArgv: string[]): string[] {
  return ['bash', '-o', 'pipefail', '-c', CHANGED_ENTRIES_SCRIPT, 'bash', root, since.toFixed(9), ...rsyncArgv];
}

export interface RsyncOutcome {
  /** 0 also for a pass that ended at its clean transfer end (`endedAtTransfer`), before rsync exited. */
  exitCode: number;
  endedAtTransfer?: boolean;
  seconds: number;
  /** verify and rehearsal modes: the itemized differences (empty = identical). */
  differences: string[];
}

/** rsync's exit code when the remote shell (ssh) failed, e.g. the target's key could not be checked. */
const RSYNC_REMOTE_SHELL_FAILED = 255;

/**
 * Runs rsync on the source host, pushing to the target host over ssh with the pinned key. Rehearsal, final
 * and verify passes (around the downtime window) go through the connection `openControlConnection` opened
 * and do not write the known_hosts file first (the window's preparation did): if ssh fails they write it
 * and run once more. A final pass can be `ready` (startFinalPass): rsync started before the window,
 * connected to the target and waiting for its file list.
 */
export async function rsyncFromSource(
  env: StrategyEnv,
  pass: RsyncPass,
  options: TransferEndOptions & { ready?: ReadyCommand } = {},
): Promise<RsyncOutcome> {
  if (pass.mode === 'live') return rsyncOnce(env, pass);
  const { ready, ...transferEnd } = options;
  const outcome = await rsyncOnce(env, pass, { failOnRemoteShell: false, ready, ...transferEnd });
  if (outcome.exitCode !== RSYNC_REMOTE_SHELL_FAILED) return outcome;
  await ensurePeerTrust(env);
  return rsyncOnce(env, pass, transferEnd);
}

interface TransferEndOptions {
  /** Called when the pass's data is all in place (a pass that reportsTransferEnd). */
  onTransferred?: () => void;
  /**
   * A final pass of what changed (its messages on stdout, changedEntriesArgv) ends at its transfer end
   * where rsync reported nothing before it: no error, no vanished file (exit 24), every file in place.
   * rsync's exit comes 40 ms later (its polls); an exit other than 0 then is logged, and the verify's
   * comparison is the proof either way.
   */
  endAtCleanTransfer?: boolean;
}

/**
 * What rsync's client prints under `--debug=EXIT2` once the receiver's goodbye has come: every file is in
 * place on the target (the receiver is done, the generator has set the directories' times). What is left
 * is processes ending, which rsync polls every 20 ms on each side: 40 ms of a final pass spent sleeping.
 */
const TRANSFER_DONE_LINE = /^client_run waiting on \d+$/;

/**
 * What rsync's client prints under `--debug=PROTO` once the target's rsync answered: a final pass started
 * ahead is then connected (ReadyCommand.waiting). Not one of rsync's messages about the transfer.
 */
const CONNECTED_LINE = /^\(Client\) Protocol versions: /;

/**
 * An rsync stdout observer that calls `onTransferred` once, when the client's transfer-done line comes,
 * telling whether it was the first thing rsync printed (with its messages on the same stream: a clean transfer).
 */
export function watchTransferEnd(onTransferred: (clean: boolean) => void): (text: string) => void {
  let printedBefore = false;
  return watchLines(line => {
    if (TRANSFER_DONE_LINE.test(line)) {
      onTransferred(!printedBefore);
      return true;
    }
    if (line.trim() !== '' && !CONNECTED_LINE.test(line)) printedBefore = true;
    return false;
  });
}

/**
 * The final pass (`changedSince` set) started ahead, before the app stops: rsync starts, connects to the
 * target through the job's connection and waits; the walk for what changed starts only when fired
 * (rsyncFromSource with it as `ready`). Disarmed, it sends an empty list and copies nothing.
 */
export function startFinalPass(env: StrategyEnv, pass: RsyncPass): ReadyCommand {
  if (pass.mode !== 'final' || pass.changedSince === undefined) throw new Error('Only a final pass of what changed can start ahead');
  return startReady(env.source, passCommand(env, pass).argv, { gate: true, check: false, readyLine: CONNECTED_LINE });
}

function isDryRun(pass: RsyncPass): boolean {
  return pass.mode === 'verify' || pass.mode === 'rehearsal';
}

function passCommand(env: StrategyEnv, pass: RsyncPass): { argv: string[]; input?: string } {
  const dryRun = isDryRun(pass);
  const argv = rsyncPushArgv({
    sourcePath: pass.sourcePath,
    targetPath: pass.targetPath,
    peer: peerOf(env),
    delete: pass.delete ?? pass.mode !== 'live',
    partial: pass.mode === 'live',
    checksum: pass.checksum ?? dryRun,
    numericIds: true,
  });
  // Live and final passes compare mtimes to the nanosecond, so a same-size rewrite within the same second
  // is still copied; the verify pass compares content (-c), which also catches a rewrite with a reset mtime.
  const extra = ['--checksum-choice=xxh128', '--modify-window=-1'];
  // Names in UTF-8 are printed as they are, not escaped, so the verify can match them to its listings.
  if (dryRun) extra.push('--dry-run', '--itemize-changes', '--out-format=%i %n', '--8-bit-output');
  if (pass.filesFrom) extra.push('-r', '--from0', `--files-from=${pass.filesFrom}`);
  if (pass.changedSince !== undefined) extra.push('--from0', '--files-from=-', '--delete-missing-args');
  // The line that tells the final pass's data is all in place, 40 ms before rsync exits (watchTransferEnd),
  // and the one that tells it is connected (CONNECTED_LINE).
  if (pass.reportsTransferEnd) extra.push('--debug=EXIT2,PROTO');
  argv.splice(1, 0, ...extra);
  // rsync splits -e on spaces: only plain words are appended to the validated remote shell.
  const shell = argv.indexOf('-e') + 1;
  argv[shell] = [argv[shell], '-o', `Ciphers=${PEER_CIPHERS}`, ...(pass.mode === 'live' ? [] : throughControlConnection(env.jobId))].join(' ');
  if (pass.changedSince === undefined) return { argv };
  return {
    argv: changedEntriesArgv(pass.sourcePath, pass.changedSince, argv),
    input: (pass.alsoNames ?? []).map(name => `${name === '' ? '.' : name}\0`).join(''),
  };
}

async function rsyncOnce(
  env: StrategyEnv,
  pass: RsyncPass,
  options: TransferEndOptions & { failOnRemoteShell?: boolean; ready?: ReadyCommand } = {},
): Promise<RsyncOutcome> {
  const vanishedIsNormal = pass.mode === 'live' || pass.mode === 'rehearsal';
  const { argv, input } = passCommand(env, pass);
  const endEarly = options.endAtCleanTransfer === true && pass.reportsTransferEnd === true && pass.changedSince !== undefined;
  let cleanTransfer!: () => void;
  const transferred = new Promise<'transferred'>(resolve => (cleanTransfer = () => resolve('transferred')));
  const watching = options.onTransferred !== undefined || endEarly;
  const onStdout = watching
    ? watchTransferEnd(clean => {
        options.onTransferred?.();
        if (clean && endEarly) cleanTransfer();
      })
    : undefined;
  const started = env.now();
  // A pass of what changed runs behind a gate (see changedEntriesArgv): a ready one gets `go` from fire.
  const running = options.ready
    ? options.ready.fire(input ?? '', env.signal, onStdout)
    : env.source.run(argv, { signal: env.signal, check: false, stdin: input === undefined ? undefined : `go\n${input}`, onStdout });
  const first = await Promise.race([running, transferred]);
  const seconds = (env.now() - started) / 1000;
  if (first === 'transferred') {
    running
      .then(async late => {
        if (late.exitCode !== 0) await env.log(`rsync's ${pass.mode} pass exited with ${late.exitCode} after a clean transfer`, { output: lastLines(late.stdout) });
      })
      .catch(() => undefined);
    return { exitCode: 0, seconds, differences: [], endedAtTransfer: true };
  }
  const result = first;
  const exitCode = result.exitCode ?? -1;
  const ok = exitCode === 0 || (vanishedIsNormal && exitCode === RSYNC_VANISHED);
  if (!ok && exitCode === RSYNC_REMOTE_SHELL_FAILED && options.failOnRemoteShell === false) {
    return { exitCode, seconds, differences: [] };
  }
  if (!ok) {
    // A pass of what changed has rsync's messages on stdout (changedEntriesArgv); a dry run's stdout is its list.
    const stderr = withoutGateLines(result.stderr);
    const messages = isDryRun(pass) ? stderr : `${stderr}\n${result.stdout}`;
    const message = `rsync ${pass.mode} pass ${pass.sourcePath} → target:${pass.targetPath} exited with ${exitCode}${
      exitCode === RSYNC_VANISHED ? ' (files vanished: the source was not quiesced)' : ''
    }: ${lastLines(messages)}`;
    if (NO_SPACE.test(messages)) throw new Error(`Target disk full: ${message}`);
    throw new Error(message);
  }
  const differences = isDryRun(pass) ? result.stdout.split('\n').filter(line => line.trim() !== '') : [];
  return { exitCode, seconds, differences };
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ');
}

/**
 * The name in an itemized rsync line (`%i %n`: an 11-character field, a space, the name; `>f.st...... a`,
 * `*deleting   a`) as the tree listings name it: without a directory's trailing slash, and '' for the root (`./`).
 */
export function itemizedName(line: string): string {
  const name = line.slice(12).replace(/\/$/, '');
  return name === '.' ? '' : name;
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
