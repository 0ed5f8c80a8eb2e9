import http from 'node:http';
import https from 'node:https';
import { PveSimulator } from '../simulator';

export interface WireResponse {
  status: number;
  reason: string;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed body when JSON. */
  json?: any;
}

/**
 * A raw HTTP(S) request against the simulator (CA pinned to its certificate), so
 * tests see exactly what goes over the wire: status line, headers, body.
 */
export function request(
  sim: Pick<PveSimulator, 'url' | 'caPem' | 'token'>,
  method: string,
  path: string,
  options: {
    form?: Record<string, string | number>;
    json?: unknown;
    token?: string | null;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<WireResponse> {
  const url = new URL(path.startsWith('/_sim') ? path : `/api2/json${path}`, sim.url);
  let body: string | undefined;
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? sim.token : options.token;
  if (token) headers.Authorization = `PVEAPIToken=${token}`;
  if (options.form) {
    body = new URLSearchParams(Object.entries(options.form).map(([k, v]) => [k, String(v)])).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] = 'application/json';
  } else if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { method, headers, ...(url.protocol === 'https:' ? { ca: sim.caPem } : {}), agent: false },
      res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', chunk => (text += chunk));
        res.on('end', () => {
          let json: unknown;
          if ((res.headers['content-type'] ?? '').startsWith('application/json')) json = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
