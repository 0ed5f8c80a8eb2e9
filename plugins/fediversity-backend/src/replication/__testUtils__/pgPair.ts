import { chown, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from './freePort';
import { localRunner } from '../commandRunner';
import { PgCluster, PrimaryEndpoint } from '../postgres';

export const PG_BIN = process.env.FEDIVERSITY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A throwaway primary on 127.0.0.1 and the description of a standby beside it (not created: `ensureStandby`
 * does that, as it would on a second host). Both run as `postgres` when the test runs as root.
 */
export interface TestPgPair {
  primary: PgCluster;
  primaryEndpoint: PrimaryEndpoint;
  standby: PgCluster;
  primaryUrl: string;
  standbyUrl: string;
  stop(): Promise<void>;
}

export async function startTestPgPair(): Promise<TestPgPair | string> {
  if (!existsSync(join(PG_BIN, 'initdb'))) return `PostgreSQL server binaries not found in ${PG_BIN}`;
  const asRoot = process.getuid?.() === 0;
  const osUser = asRoot ? 'postgres' : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'fediversity-pgpair-'));
  if (asRoot) {
    const id = (flag: string) => localRunner.run(['id', flag, 'postgres']).then(r => Number(r.stdout.trim()));
    await chown(dir, await id('-u'), await id('-g'));
  }
  const as = (argv: string[]) => (osUser ? ['runuser', '-u', osUser, '--', ...argv] : argv);
  const primaryPort = await freeLoopbackPort();
  const standbyPort = await freeLoopbackPort();
  const primary: PgCluster = { runner: localRunner, bin: PG_BIN, osUser, dataDir: join(dir, 'primary'), port: primaryPort, socketDir: dir };
  const standby: PgCluster = { runner: localRunner, bin: PG_BIN, osUser, dataDir: join(dir, 'standby'), port: standbyPort, socketDir: dir };
  await localRunner.run(as([join(PG_BIN, 'initdb'), '-D', primary.dataDir, '-A', 'trust', '-U', 'postgres', '--data-checksums']));
  await localRunner.run(
    as([
      join(PG_BIN, 'pg_ctl'), '-D', primary.dataDir, '-l', join(dir, 'primary.log'), '-w', '-o',
      `-c listen_addresses=127.0.0.1 -p ${primaryPort} -k ${dir} -c wal_level=replica -c max_wal_senders=10 -c wal_log_hints=on`,
      'start',
    ]),
  );
  const stopCluster = async (cluster: PgCluster) => {
    if (existsSync(join(cluster.dataDir, 'postmaster.pid'))) {
      await localRunner.run(as([join(PG_BIN, 'pg_ctl'), '-D', cluster.dataDir, '-m', 'immediate', 'stop']), { check: false });
    }
  };
  return {
    primary,
    standby,
    primaryEndpoint: { host: '127.0.0.1', port: primaryPort, user: 'postgres', slot: 'fediversity_test' },
    primaryUrl: `postgresql://postgres@127.0.0.1:${primaryPort}/postgres`,
    standbyUrl: `postgresql://postgres@127.0.0.1:${standbyPort}/postgres`,
    async stop() {
      await stopCluster(standby);
      await stopCluster(primary);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
