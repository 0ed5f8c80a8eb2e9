import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { FediversityApiError, FediversityClient } from './jobsClient';

interface Seen {
  method?: string;
  url?: string;
  contentType?: string;
  body: string;
}

/** A real HTTP server on loopback that answers every request with the next reply. */
async function startBackend(reply: (request: IncomingMessage) => { status: number; body?: unknown }) {
  const seen: Seen[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', chunk => (body += chunk));
    request.on('end', () => {
      seen.push({ method: request.method, url: request.url, contentType: request.headers['content-type'], body });
      const { status, body: payload } = reply(request);
      response.writeHead(status, payload === undefined ? {} : { 'Content-Type': 'application/json' });
      response.end(payload === undefined ? undefined : JSON.stringify(payload));
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new FediversityClient({
    discoveryApi: { getBaseUrl: async pluginId => `http://127.0.0.1:${port}/api/${pluginId}` },
    fetchApi: { fetch },
  });
  return { client, seen, close: () => new Promise(resolve => server.close(resolve)) };
}

describe('FediversityClient', () => {
  it('lists jobs with only the filters given, and encodes ids in paths', async () => {
    const backend = await startBackend(() => ({ status: 200, body: { items: [], nextCursor: undefined } }));
    try {
      await backend.client.listJobs({ entityRef: 'component:default/social', status: undefined });
      await backend.client.getJob('a/b c').catch(() => undefined);
      expect(backend.seen.map(request => request.url)).toEqual([
        '/api/fediversity/jobs?entityRef=component%3Adefault%2Fsocial',
        '/api/fediversity/jobs/a%2Fb%20c',
      ]);
    } finally {
      await backend.close();
    }
  });

  it('sends a JSON body on POST and takes an empty 204 answer', async () => {
    const backend = await startBackend(request => (request.url!.endsWith('/retry') ? { status: 204 } : { status: 202, body: { id: 'j1' } }));
    try {
      await expect(backend.client.approveJob('j1', { comment: 'go' })).resolves.toEqual({ id: 'j1' });
      await expect(backend.client.retryJob('j1')).resolves.toBeUndefined();
      expect(backend.seen[0]).toEqual({ method: 'POST', url: '/api/fediversity/jobs/j1/approve', contentType: 'application/json', body: '{"comment":"go"}' });
    } finally {
      await backend.close();
    }
  });

  it("throws the backend's error name, message and status", async () => {
    const backend = await startBackend(() => ({ status: 403, body: { error: { name: 'NotAllowedError', message: 'Not an owner' } } }));
    try {
      const error = await backend.client.cancelJob('j1').catch(e => e);
      expect(error).toBeInstanceOf(FediversityApiError);
      expect(error).toMatchObject({ status: 403, name: 'NotAllowedError', message: 'Not an owner' });
    } finally {
      await backend.close();
    }
  });

  it('names the request when the error body is not JSON', async () => {
    const backend = await startBackend(() => ({ status: 502 }));
    try {
      await expect(backend.client.listJobs()).rejects.toMatchObject({ status: 502, message: 'GET /jobs failed with HTTP 502' });
    } finally {
      await backend.close();
    }
  });
});
