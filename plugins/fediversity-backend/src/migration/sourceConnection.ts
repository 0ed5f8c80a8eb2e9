import { libpqEnvironment, libpqSettings } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { PostgresOnHost } from './postgres';
import { ReplicationPassfile } from './replicationPassfile';
import { StrategyEnv } from './strategy';

/**
 * The connection the base backup, the standby or a subscription will open, tried from the target now (with
 * the passfile, where there is a password, and the job's TLS): a source whose pg_hba.conf or certificate
 * refuses it would otherwise fail the job after the migration started. `database` is `replication=true` for
 * a physical stream, else the database a subscription reads.
 */
export async function checkSourceConnection(env: StrategyEnv, clusters: { source: PostgresOnHost; target: PostgresOnHost }, database: string) {
  const { source, target } = clusters;
  const result = await ReplicationPassfile.of(env, target).during(source, passfile =>
    target.program(
      'psql',
      [
        '-X', '-A', '-t', '-q',
        '-h', source.pg.address,
        '-p', String(source.pg.port),
        '-U', env.params.replicationUser,
        '--no-password',
        '-d', database,
        '-c', database === 'replication=true' ? 'IDENTIFY_SYSTEM' : 'SELECT 1',
      ],
      env.signal,
      { environment: libpqEnvironment(libpqSettings(env.params.replicationTls, passfile)), check: false },
    ),
  );
  if (result.exitCode !== 0) {
    const reason = result.stderr.trim().split('\n').slice(-2).join(' ');
    const how = env.params.replicationPassword ? 'with the password the job names' : 'without a password (or name one in replicationPassword)';
    const connection = database === 'replication=true' ? 'open a replication connection to' : `connect to database ${database} on`;
    throw new PermanentJobError(
      `The target cannot ${connection} the source database at ${source.pg.address}:${source.pg.port} ` +
        `as ${env.params.replicationUser} ${how} (sslmode ${env.params.replicationTls.mode}); ` +
        `allow it in the source's pg_hba.conf, and check its certificate: ${reason}`,
    );
  }
}
