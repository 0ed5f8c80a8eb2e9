import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, waitForTcpPort } from '../../ssh/testing/freePort';
import { runProcess } from '../runProcess';
import { startDaemon } from './startDaemon';

export interface TestPowerDns {
  dnsPort: number;
  apiUrl: string;
  apiKey: string;
  zone: string;
  stop(): Promise<void>;
}

export const PDNS_SERVER_PATH = '/usr/sbin/pdns_server';
const SQLITE_SCHEMA = '/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql';

/**
 * A real PowerDNS Authoritative server (Debian: pdns-server, pdns-backend-sqlite3, sqlite3) on
 * loopback with the HTTP API enabled and a Native zone created through that API. Returns a reason
 * string when the packages are missing.
 */
export async function startTestPowerDns(zone = 'example.test'): Promise<TestPowerDns | string> {
  for (const [path, pkg] of [
    [PDNS_SERVER_PATH, 'pdns-server'],
    [SQLITE_SCHEMA, 'pdns-backend-sqlite3'],
    ['/usr/bin/sqlite3', 'sqlite3'],
  ]) {
    if (!existsSync(path)) return `${path} is missing (Debian: ${pkg})`;
  }
  const dir = await mkdtemp(join(tmpdir(), 'fediversity-pdns-'));
  const dnsPort = await freeLoopbackPort({ udp: true });
  const apiPort = await freeLoopbackPort();
  const apiKey = randomBytes(18).toString('base64url');
  const database = join(dir, 'pdns.sqlite3');
  const schema = await runProcess(['sqlite3', database, `.read ${SQLITE_SCHEMA}`], { timeoutMs: 30_000 });
  if (schema.exitCode !== 0) throw new Error(`sqlite3 schema load failed: ${schema.stderr}`);
  await writeFile(
    join(dir, 'pdns.conf'),
    [
      'launch=gsqlite3',
      `gsqlite3-database=${database}`,
      'local-address=127.0.0.1',
      `local-port=${dnsPort}`,
      'api=yes',
      `api-key=${apiKey}`,
      'webserver=yes',
      'webserver-address=127.0.0.1',
      `webserver-port=${apiPort}`,
      'webserver-allow-from=127.0.0.1',
      `socket-dir=${dir}`,
      'daemon=no',
      'guardian=no',
      'disable-syslog=yes',
      'loglevel=4',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const daemon = startDaemon([PDNS_SERVER_PATH, `--config-dir=${dir}`]);
  const stop = async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  try {
    await waitForTcpPort(apiPort, 15_000, daemon.isAlive);
    const response = await fetch(`${apiUrl}/api/v1/servers/localhost/zones`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: `${zone}.`,
        kind: 'Native',
        nameservers: [`ns1.${zone}.`],
        rrsets: [
          {
            name: `ns1.${zone}.`,
            type: 'A',
            ttl: 300,
            changetype: 'REPLACE',
            records: [{ content: '127.0.0.1', disabled: false }],
          },
        ],
      }),
    });
    if (response.status !== 201) throw new Error(`zone creation: HTTP ${response.status} ${await response.text()}`);
  } catch (err) {
    const output = daemon.output();
    await stop();
    throw new Error(`pdns_server did not start: ${(err as Error).message}\n${output}`);
  }
  return { dnsPort, apiUrl, apiKey, zone, stop };
}
