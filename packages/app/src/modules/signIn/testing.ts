import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A stand-in for the auth backend's guest refresh on a random loopback port: answers with `statuses` in turn (the
 * last one repeats), 200 with a guest identity as the real guest provider does. CORS as the real backend sends it.
 */
export async function startFakeAuthBackend(statuses: number[], port = 0) {
  const answered: number[] = [];
  const server: Server = createServer((req, res) => {
    res.setHeader('access-control-allow-origin', req.headers.origin ?? '*');
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-allow-headers', 'x-requested-with');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    if (!req.url?.endsWith('/api/auth/guest/refresh')) {
      res.writeHead(404).end();
      return;
    }
    const status = statuses[Math.min(answered.length, statuses.length - 1)];
    answered.push(status);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status === 200 ? guestSession() : { error: { name: 'ServiceUnavailableError', message: 'starting' } }));
  });
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    answered,
    stop: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}

/** A free loopback port (nothing listens on it until someone does). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return port;
}

function guestSession() {
  const claims = { sub: 'user:default/guest', ent: ['user:default/guest'], exp: Math.floor(Date.now() / 1000) + 3600 };
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    profile: {},
    backstageIdentity: {
      token: `${part({ alg: 'none' })}.${part(claims)}.`,
      identity: { type: 'user', userEntityRef: 'user:default/guest', ownershipEntityRefs: ['user:default/guest'] },
    },
  };
}
