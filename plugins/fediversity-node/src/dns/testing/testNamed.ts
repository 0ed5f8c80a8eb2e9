import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, waitForTcpPort } from '../../ssh/testing/freePort';
import type { TsigKey } from '../Rfc2136DnsProvider';
import { startDaemon } from './startDaemon';

export interface TestNamed {
  port: number;
  zone: string;
  tsig: TsigKey;
  stop(): Promise<void>;
}

export const NAMED_PATH = '/usr/sbin/named';

/**
 * A real BIND `named` on 127.0.0.1:<free port>, primary for `zone`, accepting updates signed
 * with a fresh hmac-sha256 key. Returns a reason string if named is not installed (non-root only;
 * as root a missing server fails the test).
 */
export async function startTestNamed(zone = 'example.test'): Promise<TestNamed | string> {
  if (!existsSync(NAMED_PATH)) {
    const reason = `${NAMED_PATH} is not installed (Debian: bind9)`;
    if (process.getuid?.() === 0) throw new Error(reason);
    return reason;
  }
  const dir = await mkdtemp(join(tmpdir(), 'fediversity-named-'));
  const port = await freeLoopbackPort({ udp: true });
  const tsig: TsigKey = { name: 'portal-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  await writeFile(
    join(dir, 'zone.db'),
    [
      '$TTL 300',
      `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 3600 600 86400 300`,
      `@ IN NS ns1.${zone}.`,
      'ns1 IN A 127.0.0.1',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'named.conf'),
    `options {
  directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  recursion no;
  dnssec-validation no;
};
controls { };
key "${tsig.name}" { algorithm ${tsig.algorithm}; secret "${tsig.secret}"; };
zone "${zone}" {
  type primary;
  file "${dir}/zone.db";
  update-policy { grant ${tsig.name} zonesub ANY; };
};
`,
    { mode: 0o600 },
  );
  const daemon = startDaemon([NAMED_PATH, '-g', '-c', join(dir, 'named.conf')]);
  const stop = async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForTcpPort(port, 15_000, daemon.isAlive);
    // named opens its port before it finishes loading zones.
    const deadline = Date.now() + 10_000;
    while (!/all zones loaded/.test(daemon.output())) {
      if (Date.now() > deadline || !daemon.isAlive()) throw new Error('zones not loaded');
      await new Promise(r => setTimeout(r, 50));
    }
  } catch (err) {
    const output = daemon.output();
    await stop();
    throw new Error(`named did not start: ${(err as Error).message}\n${output}`);
  }
  return { port, zone, tsig, stop };
}
