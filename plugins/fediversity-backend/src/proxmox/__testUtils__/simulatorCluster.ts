import {
  CountingTransport,
  HttpsTransport,
  PveClient,
  PveCluster,
  RetryingTransport,
} from '@fediversity/plugin-fediversity-node';
import { PveSimulator } from '@fediversity/pve-simulator';

/** A PveCluster for a test's simulator, counting the API calls made through it. */
export function simulatorCluster(
  simulator: PveSimulator,
  name: string,
  demo = false,
): { cluster: PveCluster; counter: CountingTransport; close(): void } {
  const separator = simulator.token.lastIndexOf('=');
  const https = new HttpsTransport({
    url: simulator.url,
    tokenId: simulator.token.slice(0, separator),
    tokenSecret: simulator.token.slice(separator + 1),
    fingerprint: simulator.fingerprint,
  });
  const counter = new CountingTransport(https);
  const client = new PveClient({
    transport: new RetryingTransport(counter, { baseDelayMs: 1, maxDelayMs: 5 }),
  });
  return { cluster: { name, client, demo }, counter, close: () => https.close() };
}
