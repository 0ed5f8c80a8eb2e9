import { PermanentJobError } from '../jobs/errors';
import { usedBytes } from './diskSpace';
import { hostPath } from './hosts';
import { assertIdentical, closeControlConnection, ensurePeerTrust, jobDirectory, openControlConnection, rsyncFromSource } from './rsync';
import { CatchUpRound, MigrationStrategy, StrategyEnv } from './strategy';

/**
 * `rsync-quiesced` directories: live rsync passes while the app runs (exit 24 tolerated), then, once the app
 * is quiesced, a final `--delete --checksum` pass (exit 24 fatal) and a `-c -n --itemize-changes` check that
 * must list nothing. rsync runs on the source host and pushes to the target host over ssh.
 */
/** Parallel rsync streams of the first pass (the portal's hosts have at least two cores). */
const INITIAL_STREAMS = 2;
/**
 * How long the window's host-to-host connection stays open without a session, on top of the app's settle
 * time: enough for slow quiesce commands; it is closed at the end of the job or by a rollback anyway.
 */
const CONTROL_IDLE_SECONDS = 600;

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
    return { rsync: versions };
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
   * The first pass moves nearly everything, so it runs as parallel streams (one ssh cipher stream is bound
   * to one core); the catch-up passes that follow walk the whole tree again and pick up anything it missed.
   */
  async initialSync(env: StrategyEnv) {
    await ensurePeerTrust(env);
    const started = env.now();
    for (const directory of this.directories) {
      const sourcePath = `${hostPath(env.params.source, directory)}/`;
      const targetPath = `${hostPath(env.params.target, directory)}/`;
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
    await env.log('First pass done', { seconds });
    return { seconds };
  }

  /**
   * Before the app stops: the known_hosts file, the connection the final and verify passes share, and a
   * rehearsal of the verify (a dry run with -c) that reads both trees. Data not read for a while leaves the
   * page cache (after a long approval wait, or reclaimed early, as on the benchmark VM), and the window's
   * -c pass then reads every byte from disk on both hosts (4.0 s instead of 0.4 s for 512 MB there). The
   * differences the rehearsal sees are the app's latest writes, which the final pass copies.
   */
  async prepareWindow(env: StrategyEnv) {
    await ensurePeerTrust(env);
    const settle = Math.max(0, ...env.params.app.dataClasses.map(dataClass => dataClass.settleSeconds ?? 0));
    await openControlConnection(env, settle + CONTROL_IDLE_SECONDS);
    for (const directory of this.directories) {
      const outcome = await rsyncFromSource(env, {
        sourcePath: `${hostPath(env.params.source, directory)}/`,
        targetPath: `${hostPath(env.params.target, directory)}/`,
        mode: 'rehearsal',
      });
      await env.log(`Verify rehearsed before the window for ${directory}`, {
        seconds: outcome.seconds,
        differences: outcome.differences.length,
      });
    }
  }

  async catchUp(env: StrategyEnv): Promise<CatchUpRound> {
    const seconds = await this.pass(env, 'live');
    return { seconds, caughtUp: seconds < env.params.catchUp.passBudgetSeconds };
  }

  async finalSync(env: StrategyEnv) {
    const seconds = await this.pass(env, 'final');
    return { seconds };
  }

  async verify(env: StrategyEnv) {
    let seconds = 0;
    for (const directory of this.directories) {
      const outcome = await rsyncFromSource(env, {
        sourcePath: `${hostPath(env.params.source, directory)}/`,
        targetPath: `${hostPath(env.params.target, directory)}/`,
        mode: 'verify',
      });
      assertIdentical(directory, outcome);
      seconds += outcome.seconds;
    }
    return { identical: true, seconds };
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

  /** The copied files stay on the target (inert while its app is stopped); the source was only read. */
  async undoInitialSync() {}

  private async pass(env: StrategyEnv, mode: 'live' | 'final'): Promise<number> {
    // The final pass relies on the window's preparation for the known_hosts file (see rsyncFromSource).
    if (mode === 'live') await ensurePeerTrust(env);
    let seconds = 0;
    for (const directory of this.directories) {
      const outcome = await rsyncFromSource(env, {
        sourcePath: `${hostPath(env.params.source, directory)}/`,
        targetPath: `${hostPath(env.params.target, directory)}/`,
        mode,
      });
      seconds += outcome.seconds;
    }
    return seconds;
  }
}
