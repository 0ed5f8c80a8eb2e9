import { WRITE_PRIVATE_FILE_SCRIPT } from '@fediversity/plugin-fediversity-node';
import { HostShell, RunCommandOptions } from './hosts';
import { migrationParamsSchema } from './params';
import { postgresClusters } from './postgres';
import { ReplicationPassfile } from './replicationPassfile';
import { testStrategyEnv } from '../testing/strategyEnv';

const KEY = `ssh-ed25519 ${'A'.repeat(68)}`;
const host = (address: string, username: string) => ({
  host: address,
  username,
  hostKey: `SHA256:${'x'.repeat(43)}`,
  hostPublicKey: KEY,
  privateKey: { secretRef: 'portal' },
  postgres: { dataDir: '/var/lib/postgresql/15/main', port: 5433, socketDir: '/run/postgresql' },
});

function paramsWith(extra: Record<string, unknown>) {
  return migrationParamsSchema.parse({
    app: { name: 'app', dataClasses: [{ name: 'db', kind: 'database', engine: 'postgresql', replication: 'postgresql-streaming', quiesce: [['systemctl', 'stop', 'app']], unquiesce: [['systemctl', 'start', 'app']] }] },
    source: host('10.0.0.1', 'root'),
    target: host('10.0.0.2', 'root'),
    peer: { identityFile: '/root/.ssh/peer' },
    replicationUser: 'replicator',
    ...extra,
  });
}

function recordingTarget(): HostShell & { calls: Array<{ argv: readonly string[]; options?: RunCommandOptions }> } {
  const calls: Array<{ argv: readonly string[]; options?: RunCommandOptions }> = [];
  return {
    role: 'target',
    calls,
    run: async (argv, options) => {
      calls.push({ argv, options });
      return { exitCode: 0, stdout: '', stderr: '' };
    },
  };
}

/** A job naming a password whose value is `password`, with a target that records what it is asked. */
function withPassword(password: string) {
  const target = recordingTarget();
  const env = testStrategyEnv({
    jobId: 'job',
    params: paramsWith({ replicationPassword: { secretRef: 'pg-replication' } }),
    source: recordingTarget(),
    target,
    secret: async () => password,
  });
  const { source, target: cluster } = postgresClusters(env, 'test');
  return { target, env, source, cluster };
}

describe('ReplicationPassfile', () => {
  it('writes the password from stdin as the cluster user, beside the data directory, never in argv', async () => {
    const target = recordingTarget();
    const registered: string[] = [];
    const env = testStrategyEnv({
      jobId: '0123abcd-4567-89ef-0123-456789abcdef',
      params: paramsWith({ replicationPassword: { secretRef: 'pg-replication' } }),
      source: { role: 'source', run: async () => ({ exitCode: 0, stdout: '', stderr: '' }) },
      target,
      secret: async ref => {
        registered.push(ref);
        return 'pa:ss\\word';
      },
    });
    const { source, target: cluster } = postgresClusters(env, 'test');
    const passfile = ReplicationPassfile.of(env, cluster);
    const path = await passfile.write(source);

    expect(path).toBe('/var/lib/postgresql/15/.fediversity_0123abcd456789ef01234567.pgpass');
    expect(registered).toEqual(['pg-replication']);
    expect(target.calls).toHaveLength(1);
    expect(target.calls[0].argv).toEqual(['runuser', '-u', 'postgres', '--', 'env', '-C', '/', 'sh', '-c', WRITE_PRIVATE_FILE_SCRIPT, 'sh', path]);
    expect(target.calls[0].options?.stdin).toBe('10.0.0.1:5433:*:replicator:pa\\:ss\\\\word\n');

    await passfile.remove();
    expect(target.calls[1].argv).toEqual(['rm', '-f', '--', path]);
  });

  it('does nothing where the job names no password', async () => {
    const target = recordingTarget();
    const env = testStrategyEnv({ jobId: 'job', params: paramsWith({}), source: recordingTarget(), target });
    const { source, target: cluster } = postgresClusters(env, 'test');
    const passfile = ReplicationPassfile.of(env, cluster);
    expect(passfile.path).toBeUndefined();
    expect(await passfile.write(source)).toBeUndefined();
    await passfile.remove();
    expect(await passfile.during(source, async path => path ?? 'none')).toBe('none');
    expect(target.calls).toEqual([]);
  });

  it('fails for good on a password no passfile can hold, writing nothing', async () => {
    const { target, env, source, cluster } = withPassword('first line\nsecond line');
    await expect(ReplicationPassfile.of(env, cluster).write(source)).rejects.toMatchObject({ name: 'PermanentJobError', message: expect.stringMatching(/line break/) });
    expect(target.calls).toEqual([]);
  });

  it('fails for good, naming the directory, where the cluster user cannot write beside the data directory', async () => {
    const { target, env, source, cluster } = withPassword('password');
    target.run = async argv => {
      target.calls.push({ argv });
      return { exitCode: 2, stdout: '', stderr: `sh: 1: cannot create ${argv[argv.length - 1]}: Permission denied\n` };
    };
    await expect(ReplicationPassfile.of(env, cluster).write(source)).rejects.toMatchObject({
      name: 'PermanentJobError',
      message: expect.stringContaining('(postgres) cannot write the replication passfile beside its data directory, in /var/lib/postgresql/15: make'),
    });
  });

  it('leaves other failures to write it to the step’s retries', async () => {
    const { target, env, source, cluster } = withPassword('password');
    target.run = async () => ({ exitCode: 1, stdout: '', stderr: 'No space left on device' });
    await expect(ReplicationPassfile.of(env, cluster).write(source)).rejects.toMatchObject({
      name: 'Error',
      message: 'Could not write the replication passfile on the target (exit 1): No space left on device',
    });
  });

  it('removes the preflight’s file even when the check throws', async () => {
    const { target, env, source, cluster } = withPassword('password');
    await expect(
      ReplicationPassfile.of(env, cluster).during(source, async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(target.calls.map(call => call.argv[0])).toEqual(['runuser', 'rm']);
  });
});
