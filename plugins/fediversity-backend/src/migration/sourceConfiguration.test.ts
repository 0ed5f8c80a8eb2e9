import { HostShell } from './hosts';
import { MigrationParams } from './params';
import { postgresClusters } from './postgres';
import { checkConfigurationFiles, configurationFilesMissingOnTarget } from './sourceConfiguration';
import { testStrategyEnv } from '../testing/strategyEnv';

const postgres = (address: string, dataDir: string) => ({
  bin: '/run/current-system/sw/bin',
  dataDir,
  port: 5432,
  socketDir: '/run/postgresql',
  osUser: 'postgres',
  address,
});
const host = (address: string, dataDir: string) => ({ host: address, port: 22, username: 'root', pathPrefix: '/', postgres: postgres(address, dataDir) });

/** A NixOS source: postgresql.conf linked into the store, an ALTER SYSTEM certificate, pg_wal on another disk. */
function nixosSource(): HostShell {
  return {
    role: 'source',
    run: async argv => {
      if (argv.some(word => word.includes('pg_settings'))) {
        return { exitCode: 0, stdout: '/nix/store/aaa-pg_hba.conf\n/etc/ssl/postgres/server.crt\n', stderr: '' };
      }
      if (argv.includes('find')) {
        return { exitCode: 0, stdout: 'postgresql.conf\0/nix/store/bbb-postgresql.conf/postgresql.conf\0pg_wal\0/srv/wal\0pg_ident.conf\0conf/pg_ident.conf\0', stderr: '' };
      }
      throw new Error(`unexpected command on the source: ${argv.join(' ')}`);
    },
  };
}

function targetWith(files: string[]): HostShell & { tested: string[] } {
  const tested: string[] = [];
  return {
    role: 'target',
    tested,
    run: async argv => {
      const test = argv.indexOf('test');
      if (test < 0 || argv[test + 1] !== '-e') throw new Error(`unexpected command on the target: ${argv.join(' ')}`);
      tested.push(argv[test + 2]);
      return { exitCode: files.includes(argv[test + 2]) ? 0 : 1, stdout: '', stderr: '' };
    },
  };
}

function envWith(target: HostShell) {
  const params = { source: host('192.0.2.10', '/var/lib/postgresql/16'), target: host('192.0.2.20', '/srv/postgresql/16') } as unknown as MigrationParams;
  const env = testStrategyEnv({ jobId: 'job', params, source: nixosSource(), target });
  return { env, clusters: postgresClusters(env, 'test') };
}

describe('the configuration files the copy needs', () => {
  it('names what the target lacks: store paths, certificates, relative links from its own data directory; not pg_wal', async () => {
    const target = targetWith(['/etc/ssl/postgres/server.crt']);
    const { env, clusters } = envWith(target);
    expect(await configurationFilesMissingOnTarget(env, clusters)).toEqual([
      '/nix/store/aaa-pg_hba.conf',
      '/nix/store/bbb-postgresql.conf/postgresql.conf',
      '/srv/postgresql/16/conf/pg_ident.conf',
    ]);
    expect(target.tested).not.toContain('/srv/wal');
    await expect(checkConfigurationFiles(env, clusters)).rejects.toMatchObject({
      name: 'PermanentJobError',
      message: expect.stringMatching(/names files the target lacks.*\/nix\/store\/aaa-pg_hba\.conf/),
    });
  });

  it('passes where the target has them all (the same NixOS configuration)', async () => {
    const target = targetWith(['/nix/store/aaa-pg_hba.conf', '/etc/ssl/postgres/server.crt', '/nix/store/bbb-postgresql.conf/postgresql.conf', '/srv/postgresql/16/conf/pg_ident.conf']);
    const { env, clusters } = envWith(target);
    await expect(checkConfigurationFiles(env, clusters)).resolves.toBeUndefined();
  });
});
