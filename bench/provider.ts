/**
 * Benchmark of the Proxmox entity provider: one full refresh of a simulated 100-node, 10,000-guest cluster.
 * The simulator runs in this (parent) process; the provider runs in a child process so its peak RSS is its own.
 *
 *   npm run bench -- provider [--nodes 100] [--guests 10000]
 *
 * Prints refresh_ms=…, rss_mb=…, api_calls=… (targets: < 2000 ms, < 300 MB, calls independent of guests).
 */
import { fork } from 'node:child_process';
import { LoggerService } from '@backstage/backend-plugin-api';
import { EntityProviderConnection } from '@backstage/plugin-catalog-node';
import {
  CountingTransport,
  HttpsTransport,
  PveClient,
  RetryingTransport,
} from '@fediversity/plugin-fediversity-node';
import { generateTopology, startPveSimulator } from '@fediversity/pve-simulator';
import { ProxmoxEntityProvider } from '../plugins/fediversity-backend/src/catalog/proxmox/ProxmoxEntityProvider';

interface Target {
  url: string;
  token: string;
  fingerprint: string;
}

const quietLogger: LoggerService = {
  error: (message: string) => process.stderr.write(`error: ${message}\n`),
  warn: (message: string) => process.stderr.write(`warn: ${message}\n`),
  info: () => {},
  debug: () => {},
  child: () => quietLogger,
};

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

async function runProvider(target: Target): Promise<void> {
  const separator = target.token.lastIndexOf('=');
  const https = new HttpsTransport({
    url: target.url,
    tokenId: target.token.slice(0, separator),
    tokenSecret: target.token.slice(separator + 1),
    fingerprint: target.fingerprint,
  });
  const counter = new CountingTransport(https);
  const client = new PveClient({ transport: new RetryingTransport(counter) });
  let entities = 0;
  const connection: EntityProviderConnection = {
    applyMutation: async mutation => {
      entities = mutation.type === 'full' ? mutation.entities.length : 0;
    },
    refresh: async () => {},
  };
  const provider = ProxmoxEntityProvider.create({
    cluster: { name: 'bench', client, demo: false },
    logger: quietLogger,
    taskRunner: { run: async () => {} },
  });
  await provider.connect(connection);

  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await provider.refresh();
  const refreshMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  https.close();
  process.send!({
    type: 'provider-bench-result',
    refreshMs,
    // maxRSS is in KiB: the peak resident set of this process over its lifetime.
    rssMb: process.resourceUsage().maxRSS / 1024,
    apiCalls: counter.calls,
    entities,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
}

async function main() {
  const nodes = argument('nodes', 100);
  const guests = argument('guests', 10_000);
  const buildStarted = Date.now();
  const simulator = await startPveSimulator({ topology: generateTopology({ nodes, guests }), authFailureDelayMs: 0 });
  process.stderr.write(`simulated cluster: ${nodes} nodes, ${guests} guests (built in ${Date.now() - buildStarted} ms)\n`);
  try {
    const child = fork(__filename, [], {
      env: { ...process.env, BENCH_PROVIDER_TARGET: JSON.stringify({ url: simulator.url, token: simulator.token, fingerprint: simulator.fingerprint }) },
      execArgv: process.execArgv,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const result = await new Promise<{
      refreshMs: number;
      rssMb: number;
      apiCalls: number;
      entities: number;
      cpuMs: number;
    }>(
      (resolve, reject) => {
        // Only our message: the TypeScript transform uses the IPC channel too.
        child.on('message', (message: any) => {
          if (message?.type === 'provider-bench-result') resolve(message);
        });
        child.once('exit', code => reject(new Error(`provider process exited with ${code}`)));
      },
    );
    // Context on stderr: the wall time includes waiting for the (single-threaded) simulator on a shared machine.
    process.stderr.write(
      `entities: ${result.entities}, provider CPU during refresh: ${Math.round(result.cpuMs)} ms\n`,
    );
    process.stdout.write(
      `refresh_ms=${Math.round(result.refreshMs)}\nrss_mb=${Math.round(result.rssMb)}\napi_calls=${result.apiCalls}\n`,
    );
  } finally {
    await simulator.close();
  }
}

const target = process.env.BENCH_PROVIDER_TARGET;
(target ? runProvider(JSON.parse(target) as Target) : main()).catch(error => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
