import { PermanentJobError } from '../jobs/errors';
import { settleSeconds } from './appCommands';
import { bulkCopyFromSource, gnuTarVersion, isEmptyDirectory } from './bulkCopy';
import { usedBytes } from './diskSpace';
import { flushFilesystem } from './durability';
import { HostRole, HostShell, hostPath } from './hosts';
import {
  assertIdentical,
  closeControlConnection,
  ensurePeerTrust,
  itemizedName,
  jobDirectory,
  openControlConnection,
  removeJobDirectory,
  RsyncPass,
  rsyncFromSource,
  startFinalPass,
} from './rsync';
import { CatchUpRound, MigrationStrategy, StrategyEnv } from './strategy';
import {
  CHANGE_MARGIN_SECONDS,
  ChangeWindow,
  clockStepped,
  compareHashes,
  compareTrees,
  filesToHash,
  fireListAndHash,
  hashChangedAhead,
  HashedAhead,
  hashFiles,
  HostListing,
  listAndHash,
  readClock,
  startListAndHash,
  stillValid,
  TICK_MARGIN_SECONDS,
} from './treeManifest';

/** Parallel rsync streams of the first pass (the portal's hosts have at least two cores). */
const INITIAL_STREAMS = 2;
/**
 * How long the window's host-to-host connection stays open without a session, on top of the app's settle
 * time: enough for slow quiesce commands; it is closed at the end of the job or by a rollback anyway.
 */
const CONTROL_IDLE_SECONDS = 600;

/**
 * `rsync-quiesced` directories: live rsync passes while the app runs (exit 24 tolerated), then, once the app
 * is quiesced, a final `--delete` pass (exit 24 fatal) and a verify that must find nothing: a full
 * `-c -n --itemize-changes` compare just before the window, and inside it the trees' listings plus the
 * hashes of what changed since. rsync runs on the source host and pushes to the target host over ssh.
 */
export class FilesStrategy implements MigrationStrategy {
  readonly name: string;

  constructor(
    dataClassName: string,
    private readonly directories: string[],
  ) {
    this.name = `files:${dataClassName}`;
  }

  async preflight(env: StrategyEnv) {
    const versions: Record<string, string> = {};
    for (const host of [env.source, env.target]) {
      const result = await host.run(['rsync', '--version'], { signal: env.signal });
      const match = /rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
      if (!match) throw new PermanentJobError(`Cannot read the rsync version on the ${host.role}`);
      const [major, minor] = [Number(match[1]), Number(match[2])];
      // --checksum-choice=xxh128 needs 3.2; 3.1 is the reference's floor for the rest.
      if (major < 3 || (major === 3 && minor < 2)) {
        throw new PermanentJobError(`rsync ${match[0]} on the ${host.role} is too old (need ≥ 3.2)`);
      }
      versions[host.role] = `${match[1]}.${match[2]}.${match[3]}`;
    }
    for (const directory of this.directories) {
      const path = hostPath(env.params.source, directory);
      const exists = await env.source.run(['test', '-d', path], { signal: env.signal, check: false });
      if (exists.exitCode !== 0) throw new PermanentJobError(`Source directory ${path} does not exist`);
    }
    // Without GNU tar on both hosts (the demo hosts have none) the first pass is rsync throughout.
    const tar = { source: await gnuTarVersion(env.source, env.signal), target: await gnuTarVersion(env.target, env.signal) };
    return { rsync: versions, tar, bulkCopy: Boolean(tar.source && tar.target) };
  }

  async sourceBytes(env: StrategyEnv) {
    const paths = this.directories.map(directory => hostPath(env.params.source, directory));
    return {
      bytes: await usedBytes(env.source, paths, env.signal),
      targetPath: hostPath(env.params.target, this.directories[0]),
    };
  }

  async prepareTarget(env: StrategyEnv) {
    const paths = this.directories.map(directory => hostPath(env.params.target, directory));
    await env.target.run(['mkdir', '-p', '--', ...paths], { signal: env.signal });
  }

  /**
   * The first pass moves nearly everything. Into an empty target directory it is one tar stream
   * (bulkCopy.ts): nothing to compare, so rsync's per-file protocol would only cost CPU. Once a bulk copy
   * has started, a retry finds part of it on the target and rsync resumes by quick-check, as it does for a
   * target that had data or a host without GNU tar; rsync runs as parallel streams (its per-file work keeps
   * one stream from filling the ssh cipher's core). The catch-up passes that follow walk the whole tree
   * again and pick up anything the first pass missed or that changed meanwhile.
   */
  async initialSync(env: StrategyEnv) {
    await ensurePeerTrust(env);
    const started = env.now();
    const bulkAllowed = env.preflight?.bulkCopy === true && env.checkpoint.bulkCopyStarted !== true;
    const methods: Record<string, 'tar' | 'rsync'> = {};
    for (const directory of this.directories) {
      const sourcePath = `${hostPath(env.params.source, directory)}/`;
      const targetPath = `${hostPath(env.params.target, directory)}/`;
      if (bulkAllowed && (await isEmptyDirectory(env.target, targetPath, env.signal))) {
        methods[directory] = 'tar';
        await env.saveCheckpoint({ bulkCopyStarted: true });
        const outcome = await bulkCopyFromSource(env, { sourcePath, targetPath });
        if (outcome.filesChanged) await env.log(`Files changed while the first pass read ${directory}; the catch-up copies them`);
        continue;
      }
      methods[directory] = 'rsync';
      const listing = await env.source.run(['find', sourcePath, '-mindepth', '1', '-maxdepth', '1', '-printf', '%f\\0'], {
        signal: env.signal,
      });
      const entries = listing.stdout.split('\0').filter(Boolean);
      if (entries.length < INITIAL_STREAMS) {
        await rsyncFromSource(env, { sourcePath, targetPath, mode: 'live' });
        continue;
      }
      await Promise.all(
        Array.from({ length: INITIAL_STREAMS }, async (_, stream) => {
          const list = `${jobDirectory(env.jobId)}/${this.name.replace(/[^a-z0-9]/gi, '-')}.${stream}.list`;
          const mine = entries.filter((_entry, index) => index % INITIAL_STREAMS === stream);
          await env.source.run(['tee', '--', list], { stdin: `${mine.join('\0')}\0`, signal: env.signal });
          try {
            await rsyncFromSource(env, { sourcePath, targetPath, mode: 'live', filesFrom: list });
          } finally {
            await env.source.run(['rm', '-f', '--', list], { signal: env.signal, check: false });
          }
        }),
      );
    }
    const seconds = (env.now() - started) / 1000;
    await env.log('First pass done', { seconds, methods });
    return { seconds, methods };
  }

  /**
   * Before the app stops: the known_hosts file and the connection the final pass shares; a live pass (the
   * approval may have waited for hours); then a rehearsal of the verify (a dry run with -c) that reads both
   * trees; then, on each host, the digests of what changed since the rehearsal started. The verify inside
   * the window then reads only what changed after those (see treeManifest.ts), so the window's cost no
   * longer grows with the size of the data. The rehearsal also warms the page cache.
   */
  async prepareWindow(env: StrategyEnv) {
    await ensurePeerTrust(env);
    await openControlConnection(env, settleSeconds(env.params) + CONTROL_IDLE_SECONDS);
    const lastPass = await readClock(env.source, env.signal);
    await this.livePass(env);
    const windows: Record<string, ChangeWindow> = {};
    for (const directory of this.directories) {
      const sourcePath = hostPath(env.params.source, directory);
      const targetPath = hostPath(env.params.target, directory);
      const [sourceClock, targetClock] = await Promise.all([readClock(env.source, env.signal), readClock(env.target, env.signal)]);
      const outcome = await rsyncFromSource(env, { sourcePath: `${sourcePath}/`, targetPath: `${targetPath}/`, mode: 'rehearsal' });
      // The copy so far goes to disk now, while the source serves: the window's flush is left only what
      // the final pass writes.
      const flushStarted = env.now();
      await flushFilesystem(env.target, targetPath, env.signal);
      await env.log(`Verify rehearsed before the window for ${directory}`, {
        seconds: outcome.seconds,
        differences: outcome.differences.length,
        flushSeconds: (env.now() - flushStarted) / 1000,
      });
      if (sourceClock === undefined || targetClock === undefined) continue;
      const window: ChangeWindow = {
        sourceSince: sourceClock.wall,
        targetSince: targetClock.wall,
        sourceBoot: sourceClock.boot,
        targetBoot: targetClock.boot,
        lastPass,
        rehearsalDifferences: outcome.differences.map(itemizedName),
      };
      if (!escapedNames(window)) {
        const [source, target] = await Promise.all([
          hashChangedAhead(env.source, sourcePath, window.sourceSince - CHANGE_MARGIN_SECONDS, window.rehearsalDifferences, env.signal),
          hashChangedAhead(env.target, targetPath, window.targetSince - CHANGE_MARGIN_SECONDS, window.rehearsalDifferences, env.signal),
        ]);
        if (source && target) window.ahead = { source, target };
      }
      windows[directory] = window;
      this.startWindowCommands(env, directory, window);
    }
    return { windows };
  }

  /**
   * The window's commands for `directory`, started now and held at their gates (readyCommands.ts): the final
   * pass (rsync connected to the target, waiting for its list), then both hosts' listings for the verify.
   */
  private startWindowCommands(env: StrategyEnv, directory: string, window: ChangeWindow) {
    const ready = env.ready;
    if (!ready) return;
    if (limitedFinalPass(window) && ready.hasRoom('source')) {
      ready.keep(`final:${directory}`, startFinalPass(env, this.finalPass(env, directory, window)));
    }
    if (!listingsProve(window) || !ready.hasRoom('source') || !ready.hasRoom('target')) return;
    ready.keep(`list:${directory}:source`, startListAndHash(env.source, hostPath(env.params.source, directory), hashSince(window, 'source'), { flush: false }));
    ready.keep(`list:${directory}:target`, startListAndHash(env.target, hostPath(env.params.target, directory), hashSince(window, 'target'), { flush: true }));
  }

  async catchUp(env: StrategyEnv): Promise<CatchUpRound> {
    await ensurePeerTrust(env);
    const seconds = await this.livePass(env);
    return { seconds, caughtUp: seconds < env.params.catchUp.passBudgetSeconds };
  }

  /**
   * The final pass copies what changed on the source since the last live pass began (by ctime, see
   * treeManifest.ts) and what the rehearsal found different, so its cost follows the changes, not the size
   * of the tree; without those facts it walks the whole tree. Either way the verify proves the result.
   * The verify's listings (started ahead) are fired the moment the pass's data is all in place on the
   * target (watchTransferEnd), while rsync's processes still wind down (40 ms of polls). A pass of what
   * changed ends right there if rsync reported nothing before that moment (no error, no vanished file);
   * otherwise it ends with rsync's exit code, and a failing pass fails the step as before (a failed step
   * drops the job's ready commands, so its retry's verify lists afresh). Where ssh fails after the
   * transfer and the pass runs once more in this step, the listings fired by the first run stand: the
   * second finds the target equal and changes nothing.
   */
  async finalSync(env: StrategyEnv) {
    const windows = (env.window?.windows ?? {}) as Record<string, ChangeWindow>;
    let seconds = 0;
    let limitedPasses = 0;
    let startedAhead = 0;
    let listedAtTransferEnd = 0;
    let endedAtTransfer = 0;
    for (const directory of this.directories) {
      const window = windows[directory];
      const ready = env.ready?.take(`final:${directory}`);
      let listed = 0;
      const fireListings = () => {
        for (const role of ['source', 'target']) {
          if (env.ready?.fireEarly(`list:${directory}:${role}`, '')) listed++;
        }
      };
      const outcome = await rsyncFromSource(env, this.finalPass(env, directory, window), { ready, onTransferred: fireListings, endAtCleanTransfer: true });
      listedAtTransferEnd += listed;
      seconds += outcome.seconds;
      if (outcome.endedAtTransfer) endedAtTransfer++;
      if (limitedFinalPass(window)) limitedPasses++;
      if (ready) startedAhead++;
    }
    return { seconds, limitedPasses, startedAhead, listedAtTransferEnd, endedAtTransfer };
  }

  /** What changed since the last live pass began, where the window's facts tell; else the whole tree. */
  private finalPass(env: StrategyEnv, directory: string, window?: ChangeWindow): RsyncPass {
    return {
      sourcePath: `${hostPath(env.params.source, directory)}/`,
      targetPath: `${hostPath(env.params.target, directory)}/`,
      mode: 'final',
      reportsTransferEnd: true,
      ...(limitedFinalPass(window) ? { changedSince: window.lastPass.wall - CHANGE_MARGIN_SECONDS, alsoNames: window.rehearsalDifferences } : {}),
    };
  }

  /**
   * The target must equal the source, and be on its disk. With the rehearsal's facts (see prepareWindow)
   * only the trees' listings and the files changed since are compared, the target's listing made after its
   * filesystem is flushed; without them (a host that cannot tell its clock, or an unusual name in the
   * rehearsal's output) every byte is compared with `rsync -c -n` while the target is flushed.
   */
  async verify(env: StrategyEnv) {
    const started = env.now();
    const windows = (env.window?.windows ?? {}) as Record<string, ChangeWindow>;
    let compared = 0;
    let hashedInWindow = 0;
    let fullCompares = 0;
    let listedAhead = 0;
    for (const directory of this.directories) {
      const sourcePath = hostPath(env.params.source, directory);
      const targetPath = hostPath(env.params.target, directory);
      const window = windows[directory];
      const outcome = window ? await this.verifyChanged(env, directory, window) : undefined;
      if (outcome === undefined) {
        const [comparison] = await Promise.all([
          rsyncFromSource(env, { sourcePath: `${sourcePath}/`, targetPath: `${targetPath}/`, mode: 'verify' }),
          flushFilesystem(env.target, targetPath, env.signal),
        ]);
        assertIdentical(directory, comparison);
        fullCompares++;
      } else {
        assertIdentical(directory, { exitCode: 0, seconds: 0, differences: outcome.differences });
        compared += outcome.compared;
        hashedInWindow += outcome.hashedInWindow;
        listedAhead += outcome.listedAhead;
      }
    }
    return { identical: true, seconds: (env.now() - started) / 1000, comparedFiles: compared, hashedInWindow, fullCompares, listedAhead };
  }

  /**
   * Listings of both trees and digests of what changed since the rehearsal (treeManifest.ts); undefined
   * when that cannot prove equality (a host that cannot list, a clock that stepped since the rehearsal or,
   * on the source, since the last live pass the final pass counted from). One command on each
   * host at once lists the tree and hashes the files changed after the digests made ahead (which hold
   * where a file's ctime is still the one they were made for); what the comparison needs beyond those is
   * hashed in a second round.
   */
  private async verifyChanged(env: StrategyEnv, directory: string, window: ChangeWindow) {
    const sourcePath = hostPath(env.params.source, directory);
    const targetPath = hostPath(env.params.target, directory);
    if (!listingsProve(window)) return undefined;
    let listedAhead = 0;
    const list = (host: HostShell, path: string) => {
      const ready = env.ready?.take<HostListing | undefined>(`list:${directory}:${host.role}`);
      if (!ready) return listAndHash(host, path, hashSince(window, host.role), env.signal, { flush: host.role === 'target' });
      listedAhead++;
      return fireListAndHash(ready, env.signal);
    };
    const [source, target] = await Promise.all([list(env.source, sourcePath), list(env.target, targetPath)]);
    if (!source?.clock || !target?.clock) return undefined;
    const stepped =
      clockStepped({ wall: window.sourceSince, boot: window.sourceBoot }, source.clock) ||
      clockStepped({ wall: window.targetSince, boot: window.targetBoot }, target.clock) ||
      // The final pass chose what to copy by ctime since then.
      (window.lastPass !== undefined && clockStepped(window.lastPass, source.clock));
    if (stepped) {
      await env.log('A host clock stepped since the rehearsal: comparing every byte instead');
      return undefined;
    }
    const structure = compareTrees(source.entries, target.entries);
    if (structure.length) return { differences: structure, compared: 0, hashedInWindow: 0, listedAhead };
    const names = filesToHash(source.entries, target.entries, window);
    const known = (listing: HostListing, ahead?: HashedAhead) => new Map([...(ahead ? stillValid(ahead, listing.entries) : []), ...listing.digests]);
    const [sourceHashes, targetHashes] = await Promise.all([
      withMissing(known(source, window.ahead?.source), names, missing => hashFiles(env.source, sourcePath, missing, env.signal)),
      withMissing(known(target, window.ahead?.target), names, missing => hashFiles(env.target, targetPath, missing, env.signal)),
    ]);
    return {
      differences: compareHashes(names, sourceHashes, targetHashes),
      compared: names.length,
      hashedInWindow: source.digests.size + target.digests.size + sourceHashes.hashedNow + targetHashes.hashedNow,
      listedAhead,
    };
  }

  async cutOver() {}

  async isCutOver() {
    return true;
  }

  async healthy() {
    return true;
  }

  async undoFinalSync(env: StrategyEnv) {
    await closeControlConnection(env.source, env.jobId, env.signal);
  }

  /**
   * The copied files stay on the target (inert while its app is stopped). The source was only read, but
   * holds the job's directory (the target's pinned key, the first pass's lists): removed where the source
   * can be reached, reported where not.
   */
  async undoInitialSync(env: StrategyEnv) {
    await removeJobDirectory(env);
  }

  /** A live pass over every directory (the app runs: exit 24 tolerated); the caller wrote the known_hosts file. */
  private async livePass(env: StrategyEnv): Promise<number> {
    let seconds = 0;
    for (const directory of this.directories) {
      const outcome = await rsyncFromSource(env, {
        sourcePath: `${hostPath(env.params.source, directory)}/`,
        targetPath: `${hostPath(env.params.target, directory)}/`,
        mode: 'live',
      });
      seconds += outcome.seconds;
    }
    return seconds;
  }
}

/** Whether the window's facts let the listings prove equality (verifyChanged); else every byte is compared. */
function listingsProve(window: ChangeWindow): window is ChangeWindow & { sourceBoot: number; targetBoot: number } {
  return !escapedNames(window) && window.sourceBoot !== undefined && window.targetBoot !== undefined;
}

/** From when a host's listing hashes files: after the digests made ahead where there are some, else the rehearsal. */
function hashSince(window: ChangeWindow, role: HostRole): number {
  const ahead: HashedAhead | undefined = window.ahead?.[role];
  if (ahead) return ahead.since - TICK_MARGIN_SECONDS;
  return (role === 'source' ? window.sourceSince : window.targetSince) - CHANGE_MARGIN_SECONDS;
}

function limitedFinalPass(window?: ChangeWindow): window is ChangeWindow & { lastPass: NonNullable<ChangeWindow['lastPass']> } {
  return window?.lastPass !== undefined && !escapedNames(window);
}

/** rsync escapes unprintable bytes in names (`\\#012`): such a name cannot be matched to the listings. */
function escapedNames(window: ChangeWindow): boolean {
  return window.rehearsalDifferences.some(name => name.includes('\\'));
}

/** `known` completed with `hash(names it lacks)`; `hashedNow` counts those. */
async function withMissing(known: Map<string, string>, names: string[], hash: (missing: string[]) => Promise<Map<string, string>>) {
  const missing = names.filter(name => !known.has(name));
  const hashed = missing.length ? await hash(missing) : new Map<string, string>();
  return Object.assign(new Map([...known, ...hashed]), { hashedNow: missing.length });
}
