import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { Knex } from 'knex';

/**
 * A PostgreSQL server for tests: FEDIVERSITY_TEST_PG_URL if set (CI starts one), else a throwaway cluster
 * on a free loopback port (as user `postgres` when running as root). Each test gets its own database.
 */
export interface TestPostgres {
  /** A fresh, empty database; dropped by stop(). */
  createDatabase(): Promise<{ url: string; connection: Knex.StaticConnectionConfig | string }>;
  stop(): Promise<void>;
}

const PG_BIN = process.env.FEDIVERSITY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export async function startTestPostgres(): Promise<TestPostgres> {
  const cluster = process.env.FEDIVERSITY_TEST_PG_URL
    ? { url: process.env.FEDIVERSITY_TEST_PG_URL, stop: () => {} }
    : await startCluster();
  const serverUrl = cluster.url;
  const admin = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
  const created: string[] = [];
  return {
    async createDatabase() {
      const name = `fediversity_test_${process.pid}_${created.length}_${Math.random().toString(36).slice(2, 8)}`;
      await admin.raw(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return { url: url.toString(), connection: url.toString() };
    },
    async stop() {
      for (const name of created) {
        await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      }
      await admin.destroy();
      cluster.stop();
    },
  };
}

async function startCluster(): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'fediversity-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, command), ...args], { stdio: 'pipe' })
      : execFileSync(join(PG_BIN, command), args, { stdio: 'pipe' });
  if (asRoot) chownSync(dir, uid('postgres'), gid('postgres'));
  const port = await freePort();
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres']);
  run('pg_ctl', [
    '-D', data, '-l', join(dir, 'log'), '-w', '-o',
    `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c max_connections=200 -c fsync=off`,
    'start',
  ]);
  const stop = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, stop };
}

function uid(user: string) {
  return Number(spawnSync('id', ['-u', user]).stdout.toString().trim());
}

function gid(user: string) {
  return Number(spawnSync('id', ['-g', user]).stdout.toString().trim());
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}
