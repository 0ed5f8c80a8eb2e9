import { CountingTransport, PveClient, PveCluster, RetryingTransport } from '@fediversity/plugin-fediversity-node';
import { PveSimulator } from '@fediversity/pve-simulator';
import { simulatorTransport } from '../../testing/simulatorTransport';

/** A PveCluster for a test's simulator, counting the API calls made through it. */
export function simulatorCluster(
  simulator: PveSimulator,
  name: string,
  demo = false,
): { cluster: PveCluster; counter: CountingTransport; close(): void } {
  const https = simulatorTransport(simulator);
  const counter = new CountingTransport(https);
  const client = new PveClient({
    transport: new RetryingTransport(counter, { baseDelayMs: 1, maxDelayMs: 5 }),
  });
  return { cluster: { name, client, demo }, counter, close: () => https.close() };
}
