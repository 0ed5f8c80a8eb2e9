import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PveError } from './PveError';
import { HttpsTransport } from './transport';

/** A throwaway HTTPS server on loopback with a self-signed certificate, recording what reaches it. */
describe('HttpsTransport', () => {
  let dir: string;
  let server: https.Server;
  let url: string;
  let certPem: string;
  let fingerprint: string;
  const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];
  let reply: (res: import('node:http').ServerResponse) => void;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pve-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    certPem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    fingerprint = new crypto.X509Certificate(certPem).fingerprint256;
    server = https.createServer(
      { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: certPem },
      (req, res) => {
        let body = '';
        req.on('data', chunk => (body += chunk));
        req.on('end', () => {
          seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
          reply(res);
        });
      },
    );
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen.length = 0;
    reply = res => {
      res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify({ data: 'UPID:x' }));
    };
  });

  const token = { tokenId: 'portal@pve!test', tokenSecret: '11111111-2222-4333-8444-555555555555' };

  it('sends the token and form body to a server matching the pinned fingerprint', async () => {
    const transport = new HttpsTransport({ url, ...token, fingerprint });
    await expect(
      transport.request({ method: 'POST', path: '/nodes/pve-a/lxc', params: { vmid: 105, start: true, hostname: 'a b' } }),
    ).resolves.toEqual({ data: 'UPID:x' });
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/api2/json/nodes/pve-a/lxc',
        auth: `PVEAPIToken=${token.tokenId}=${token.tokenSecret}`,
        body: 'vmid=105&start=1&hostname=a%20b',
      },
    ]);
    transport.close();
  });

  it('puts GET parameters in the query and verifies against a pinned CA', async () => {
    const transport = new HttpsTransport({ url: `${url.replace('127.0.0.1', 'localhost')}/api2/json/`, ...token, caPem: certPem });
    await transport.request({ method: 'GET', path: '/cluster/resources', params: { type: 'vm' } });
    expect(seen[0].url).toBe('/api2/json/cluster/resources?type=vm');
    transport.close();
  });

  it('never sends a byte to a server with another certificate', async () => {
    const wrong = Array(32).fill('AB').join(':');
    const transport = new HttpsTransport({ url, ...token, fingerprint: wrong });
    const error = await transport.request({ method: 'GET', path: '/version' }).catch(e => e);
    expect(error).toBeInstanceOf(PveError);
    expect(error).toMatchObject({ status: 0, code: 'ERR_PVE_TLS_PIN' });
    transport.close();

    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other',
      '-keyout', path.join(dir, 'other-key.pem'), '-out', path.join(dir, 'other.pem'),
    ], { stdio: 'ignore' });
    const otherCa = new HttpsTransport({ url, ...token, caPem: fs.readFileSync(path.join(dir, 'other.pem'), 'utf8') });
    const caError = await otherCa.request({ method: 'GET', path: '/version' }).catch(e => e);
    expect(caError).toMatchObject({ status: 0 });
    otherCa.close();
    expect(seen).toEqual([]);
  });

  it('refuses plain http, missing pins and malformed token ids', () => {
    expect(() => new HttpsTransport({ url: 'http://127.0.0.1:8006', ...token, fingerprint })).toThrow(/https/);
    expect(() => new HttpsTransport({ url, ...token })).toThrow(/caPem or fingerprint/);
    expect(() => new HttpsTransport({ url, tokenId: 'root', tokenSecret: 'x', fingerprint })).toThrow(/USER@REALM/);
  });

  it('turns error answers into structured PveErrors', async () => {
    const transport = new HttpsTransport({ url, ...token, fingerprint });
    reply = res => {
      res.writeHead(400, 'Parameter verification failed.', { 'Content-Type': 'application/json;charset=UTF-8' });
      res.end(JSON.stringify({ data: null, message: 'Parameter verification failed.\n', errors: { vmid: 'VM 100 already exists\n' } }));
    };
    const invalid = await transport.request({ method: 'GET', path: '/cluster/nextid', params: { vmid: 100 } }).catch(e => e);
    expect(invalid).toMatchObject({
      status: 400, pveMessage: 'Parameter verification failed.', errors: { vmid: 'VM 100 already exists' },
    });
    expect(invalid.isAlreadyExists).toBe(true);

    reply = res => {
      res.writeHead(401, 'Authentication failed!');
      res.end();
    };
    const unauthorized = await transport.request({ method: 'GET', path: '/version' }).catch(e => e);
    expect(unauthorized).toMatchObject({ status: 401, pveMessage: 'Authentication failed!' });
    expect(String(unauthorized)).not.toContain(token.tokenSecret);
    transport.close();
  });

  it('cancels with an AbortSignal', async () => {
    reply = () => {};
    const transport = new HttpsTransport({ url, ...token, fingerprint });
    const controller = new AbortController();
    const pending = transport.request({ method: 'GET', path: '/version', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled by test')), 50);
    await expect(pending).rejects.toThrow('cancelled by test');
    transport.close();
  });
});
