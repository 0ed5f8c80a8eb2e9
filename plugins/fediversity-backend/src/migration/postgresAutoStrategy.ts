import { PermanentJobError } from '../jobs/errors';
import { PostgresOnHost } from './postgres';
import { PostgresLogicalStrategy } from './postgresLogicalStrategy';
import { PostgresStreamingStrategy } from './postgresStreamingStrategy';
import { CatchUpRound, MigrationStrategy, StrategyEnv } from './strategy';

/**
 * Physical streaming when source and target run the same PostgreSQL major, logical replication when they
 * differ. Decided from the installed binaries (which answer even while the source cluster is stopped), so
 * every step of a job picks the same method.
 */
export class PostgresAutoStrategy implements MigrationStrategy {
  readonly name: string;
  private readonly physical: PostgresStreamingStrategy;
  private readonly logical: PostgresLogicalStrategy;
  private chosen?: MigrationStrategy;

  constructor(dataClassName: string) {
    this.name = `postgres:${dataClassName}`;
    this.physical = new PostgresStreamingStrategy(dataClassName);
    this.logical = new PostgresLogicalStrategy(dataClassName);
  }

  /** Decided in the preflight (from both hosts' binaries); later steps, some with one host only, reuse it. */
  private async pick(env: StrategyEnv): Promise<MigrationStrategy> {
    if (this.chosen) return this.chosen;
    const decided = (env.preflight?.postgres as { method?: string } | undefined)?.method;
    if (decided) {
      this.chosen = decided === 'logical' ? this.logical : this.physical;
      return this.chosen;
    }
    const { source, target } = env.params;
    if (!source.postgres || !target.postgres) throw new PermanentJobError('PostgreSQL migration needs source.postgres and target.postgres');
    const targetMajor = await new PostgresOnHost(env.target, target, target.postgres).majorVersion(env.signal);
    let sourceMajor: number;
    try {
      sourceMajor = await new PostgresOnHost(env.source, source, source.postgres).majorVersion(env.signal);
    } catch (error) {
      // A rollback without the source (unreachable): a standby on the target means the physical method.
      const standby = await env.target.run(['test', '-e', `${target.postgres.dataDir}/standby.signal`], { signal: env.signal, check: false });
      this.chosen = standby.exitCode === 0 ? this.physical : this.logical;
      return this.chosen;
    }
    if (targetMajor < sourceMajor) throw new PermanentJobError(`The target's PostgreSQL ${targetMajor} is older than the source's ${sourceMajor}`);
    this.chosen = sourceMajor === targetMajor ? this.physical : this.logical;
    return this.chosen;
  }

  async preflight(env: StrategyEnv) {
    return (await this.pick(env)).preflight(env);
  }
  async sourceBytes(env: StrategyEnv) {
    return (await this.pick(env)).sourceBytes!(env);
  }
  async prepareTarget(env: StrategyEnv) {
    return (await this.pick(env)).prepareTarget(env);
  }
  async initialSync(env: StrategyEnv) {
    return (await this.pick(env)).initialSync(env);
  }
  async prepareWindow(env: StrategyEnv) {
    const chosen = await this.pick(env);
    return chosen.prepareWindow?.(env);
  }
  async catchUp(env: StrategyEnv): Promise<CatchUpRound> {
    return (await this.pick(env)).catchUp(env);
  }
  async finalSync(env: StrategyEnv) {
    return (await this.pick(env)).finalSync(env);
  }
  async verify(env: StrategyEnv) {
    return (await this.pick(env)).verify(env);
  }
  async cutOver(env: StrategyEnv) {
    return (await this.pick(env)).cutOver(env);
  }
  async isCutOver(env: StrategyEnv) {
    return (await this.pick(env)).isCutOver(env);
  }
  async healthy(env: StrategyEnv) {
    return (await this.pick(env)).healthy(env);
  }
  async undoFinalSync(env: StrategyEnv) {
    return (await this.pick(env)).undoFinalSync(env);
  }
  /**
   * Without asking which method ran: a quiesce's compensation connects the source alone and sees no
   * preflight facts, and a source database found stopped before the cut-over was stopped by this job (the
   * preflight found it running), so whichever method ran, bringing the source back means starting it.
   */
  async undoQuiesce(env: StrategyEnv) {
    return this.physical.undoQuiesce(env);
  }
  async undoInitialSync(env: StrategyEnv) {
    return (await this.pick(env)).undoInitialSync(env);
  }
  async afterCutOver(env: StrategyEnv) {
    return (await this.pick(env)).afterCutOver?.(env);
  }
}
