import { PveClient, PveCluster } from '@fediversity/plugin-fediversity-node';
import { startPveSimulator } from '@fediversity/pve-simulator';

export interface EmbeddedSimulator {
  cluster: PveCluster;
  url: string;
  close(): Promise<void>;
}

/** Tasks run this many times faster than on a real node, so the demo's creates take seconds, not minutes. */
const DEMO_TASK_SPEED = 4;

/** The cluster name of the simulator's demo topology; entity names (`demo-ct-101`) derive from it. */
export const DEMO_CLUSTER = 'demo';

/**
 * Starts the PVE simulator on 127.0.0.1 (random port) with its demo topology (cluster `demo`) and returns a client
 * that reaches it exactly as it would a real cluster: HTTPS with the certificate fingerprint pinned, API token.
 */
export async function startEmbeddedSimulator(): Promise<EmbeddedSimulator> {
  const simulator = await startPveSimulator({ host: '127.0.0.1', port: 0, speed: DEMO_TASK_SPEED });
  // `token` is `user@realm!tokenid=SECRET`; the secret is a UUID, so the last '=' separates them.
  const separator = simulator.token.lastIndexOf('=');
  const client = PveClient.connect({
    url: simulator.url,
    tokenId: simulator.token.slice(0, separator),
    tokenSecret: simulator.token.slice(separator + 1),
    fingerprint: simulator.fingerprint,
    caPem: undefined,
  });
  return {
    cluster: { name: DEMO_CLUSTER, client, demo: true },
    url: simulator.url,
    close: () => simulator.close(),
  };
}
