import { HttpsTransport } from '@fediversity/plugin-fediversity-node';

/** Where a test's PVE simulator answers: its URL, its API token (`id=secret`) and its certificate's fingerprint. */
export interface SimulatorEndpoint {
  url: string;
  token: string;
  fingerprint?: string;
}

/** An HTTPS transport to a test's simulator, authenticated with its token and pinned to its certificate. */
export function simulatorTransport(simulator: SimulatorEndpoint): HttpsTransport {
  const separator = simulator.token.lastIndexOf('=');
  return new HttpsTransport({
    url: simulator.url,
    tokenId: simulator.token.slice(0, separator),
    tokenSecret: simulator.token.slice(separator + 1),
    fingerprint: simulator.fingerprint,
  });
}
