import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import {
  CountingTransport,
  HttpsTransport,
  PveClient,
  RetryingTransport,
  StaticPveClusters,
} from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { ClusterGuestAccess } from '../lib/guestAccess';

export interface SimulatorHarness {
  simulator: PveSimulator;
  client: PveClient;
  /** Counts every API call the client makes. */
  transport: CountingTransport;
  clusters: StaticPveClusters;
  guestAccess: ClusterGuestAccess;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The embedded default, in a test: the PVE simulator with its demo topology (cluster `demo`, tasks `speed` times
 * faster), a client reaching it over pinned HTTPS with an API token, and demo hosts in a temporary directory.
 */
export async function startSimulatorHarness(
  options: {
    speed?: number;
    /** The client's production settings (retries, task-wait backoff) instead of the fast polling of unit tests. */
    production?: boolean;
  } = {},
): Promise<SimulatorHarness> {
  const simulator = await startPveSimulator({ speed: options.speed ?? 100 });
  const separator = simulator.token.lastIndexOf('=');
  const transport = new CountingTransport(
    new HttpsTransport({
      url: simulator.url,
      tokenId: simulator.token.slice(0, separator),
      tokenSecret: simulator.token.slice(separator + 1),
      fingerprint: simulator.fingerprint,
    }),
  );
  // Counting below the retries: every HTTP request the cluster sees is one call.
  const client = options.production
    ? new PveClient({ transport: new RetryingTransport(transport) })
    : new PveClient({ transport, taskWait: { initialIntervalMs: 50 } });
  const dataDir = await mkdtemp(join(tmpdir(), 'fediversity-scaffolder-'));
  const guestAccess = new ClusterGuestAccess({
    keyFile: join(dataDir, 'portal_ed25519'),
    demoDataDir: join(dataDir, 'demo-hosts'),
    logger: mockServices.rootLogger({ level: 'warn' }),
  });
  return {
    simulator,
    client,
    transport,
    clusters: new StaticPveClusters([{ name: 'demo', client, demo: true }]),
    guestAccess,
    dataDir,
    async stop() {
      await guestAccess.stop();
      await simulator.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
