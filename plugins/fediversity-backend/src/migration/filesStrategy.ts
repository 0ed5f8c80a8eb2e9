import { PermanentJobError } from '../jobs/errors';
import { usedBytes } from './diskSpace';
import { hostPath } from './hosts';
import { assertIdentical, ensurePeerTrust, rsyncFromSource } from './rsync';
import { CatchUpRound, MigrationStrategy, StrategyEnv } from './strategy';

/**
 * `rsync-quiesced` directories: live rsync passes while the app runs (exit 24 tolerated), then, once the app
 * is quiesced, a final `--delete --checksum` pass (exit 24 fatal) and a `-c -n --itemize-changes` check that
 * must list nothing. rsync runs on the source host and pushes to the target host over ssh.
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

  async initialSync(env: StrategyEnv) {
    const seconds = await this.pass(env, 'live');
    await env.log('First pass done', { seconds });
    return { seconds };
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
    await ensurePeerTrust(env);
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

  async undoFinalSync() {}

  /** The copied files stay on the target (inert while its app is stopped); the source was only read. */
  async undoInitialSync() {}

  private async pass(env: StrategyEnv, mode: 'live' | 'final'): Promise<number> {
    await ensurePeerTrust(env);
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
