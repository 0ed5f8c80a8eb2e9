import { posix } from 'node:path';
import { InputError } from '@backstage/errors';
import { passfileLine, WRITE_PRIVATE_FILE_SCRIPT } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { asUser } from './hosts';
import { PostgresOnHost, slotName } from './postgres';
import { StrategyEnv } from './strategy';

/**
 * The replication role's password on the target, where the job names one (`replicationPassword`): a libpq
 * passfile, readable by the target cluster's OS user only, written from stdin (never an argument). The
 * target's client programs get it as PGPASSFILE; pg_basebackup -R then points the standby's
 * primary_conninfo at the file (`passfile=`, the password itself stays out of it), and a subscription's
 * connection names it the same way. It lies beside the data directory, not in it: a base backup needs that
 * empty, and a rollback discards it. It goes once the target serves on its own, or with the rollback.
 */
export class ReplicationPassfile {
  private constructor(
    private readonly env: StrategyEnv,
    private readonly target: PostgresOnHost,
    /** Where it is, for this job; undefined where the job names no password. */
    readonly path: string | undefined,
  ) {}

  static of(env: StrategyEnv, target: PostgresOnHost): ReplicationPassfile {
    const path = env.params.replicationPassword
      ? posix.join(posix.dirname(target.pg.dataDir), `.${slotName(env.jobId)}.pgpass`)
      : undefined;
    return new ReplicationPassfile(env, target, path);
  }

  /** Writes the file (again: a rerun writes the same); answers its path, or undefined without a password. */
  async write(source: PostgresOnHost): Promise<string | undefined> {
    const ref = this.env.params.replicationPassword;
    if (!ref || !this.path) return undefined;
    const password = await this.env.secret(ref.secretRef);
    let line: string;
    try {
      line = passfileLine({ host: source.pg.address, port: source.pg.port, user: this.env.params.replicationUser, password });
    } catch (error) {
      // The secret itself is unusable: no retry can help.
      throw error instanceof InputError ? new PermanentJobError(error.message) : error;
    }
    const osUser = this.target.pg.osUser;
    const written = await this.env.target.run(asUser(this.env.params.target, osUser, ['sh', '-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', this.path]), {
      signal: this.env.signal,
      stdin: `${line}\n`,
      check: false,
    });
    if (written.exitCode === 0) return this.path;
    const reason = written.stderr.trim();
    if (/Permission denied|Read-only file system/.test(reason)) {
      // The target's layout, not a passing fault: retries would only repeat it.
      throw new PermanentJobError(
        `The target cluster's OS user (${osUser}) cannot write the replication passfile beside its data directory, in ` +
          `${posix.dirname(this.path)}: make that directory writable by ${osUser} (NixOS's is) (${reason})`,
      );
    }
    throw new Error(`Could not write the replication passfile on the target (exit ${written.exitCode}): ${reason}`);
  }

  async remove(): Promise<void> {
    if (this.path) await this.env.target.run(['rm', '-f', '--', this.path], { signal: this.env.signal });
  }

  /** The file for the length of `use` only (the preflight's connection check). */
  async during<T>(source: PostgresOnHost, use: (path: string | undefined) => Promise<T>): Promise<T> {
    const path = await this.write(source);
    try {
      return await use(path);
    } finally {
      await this.remove();
    }
  }
}
