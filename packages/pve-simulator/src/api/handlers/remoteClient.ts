import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

export interface RemoteEndpoint {
  host: string;
  port: number;
  /** `PVEAPIToken=user@realm!token=SECRET` */
  apitoken: string;
  fingerprint?: string;
}

export interface RemoteImportRequest {
  vmid: number;
  config: Record<string, string>;
  volumes: Array<{ key: string; volid: string; storage: string; size: number }>;
  start: boolean;
}

/** sha256 fingerprint of a DER certificate in PVE's colon-hex form. */
export function certificateFingerprint(der: Buffer): string {
  return crypto.createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

function post(endpoint: RemoteEndpoint, secure: boolean, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      host: endpoint.host,
      port: endpoint.port,
      method: 'POST',
      path: '/_sim/remote-import',
      headers: { Authorization: endpoint.apitoken, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      timeout: 30_000,
    };
    if (secure) {
      // Self-signed like PVE's: trust comes from the pinned fingerprint when given;
      // without one PVE would fetch the target's certificate info, which the simulator stands in for.
      options.rejectUnauthorized = false;
      options.agent = false;
    }
    const request = (secure ? https : http).request(options, response => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', chunk => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: text || (response.statusMessage ?? '') }));
    });
    request.on('timeout', () => request.destroy(new Error('connection timed out')));
    request.on('error', reject);
    if (!secure) {
      request.end(body);
      return;
    }
    // Nothing (the token included) is sent before the certificate is checked.
    request.on('socket', socket => {
      (socket as tls.TLSSocket).once('secureConnect', () => {
        const actual = certificateFingerprint((socket as tls.TLSSocket).getPeerCertificate().raw);
        if (endpoint.fingerprint && actual !== endpoint.fingerprint.toUpperCase()) {
          request.destroy(new Error(`fingerprint mismatch: expected ${endpoint.fingerprint}, got ${actual}`));
          return;
        }
        request.end(body);
      });
    });
  });
}

/** Asks the target simulator to create the migrated CT; falls back to plain HTTP for `--http` targets. */
export async function remoteImport(endpoint: RemoteEndpoint, payload: RemoteImportRequest): Promise<{ node: string }> {
  const body = JSON.stringify(payload);
  let answer: { status: number; text: string };
  try {
    answer = await post(endpoint, true, body);
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    if (error.code !== 'EPROTO' && !/wrong version number|packet length too long/.test(error.message)) {
      throw new Error(`failed to connect to remote '${endpoint.host}' - ${error.message}`);
    }
    answer = await post(endpoint, false, body);
  }
  if (answer.status !== 200) {
    let message = answer.text;
    try {
      message = (JSON.parse(answer.text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: a 401 carries its message in the reason phrase only
    }
    throw new Error(`remote migration failed - ${answer.status} ${message.trim()}`);
  }
  return (JSON.parse(answer.text) as { data: { node: string } }).data;
}
