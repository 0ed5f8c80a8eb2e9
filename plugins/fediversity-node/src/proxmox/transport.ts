import https from 'node:https';
import { InputError } from '@backstage/errors';
import { PveError } from './PveError';
import { encodeParams, PveParams } from './params';
import { createPinnedAgent, PveTlsOptions } from './tls';

export type PveMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface PveRequest {
  method: PveMethod;
  /** Path below `/api2/json`, starting with `/`; path parameters already encoded with {@link pathOf}. */
  path: string;
  params?: PveParams;
  signal?: AbortSignal;
}

/** The `data` of the response envelope, plus `total` for the lists that report it (task logs). */
export interface PveResponse<T = unknown> {
  data: T;
  total?: number;
}

/** One request to one cluster's API. Implementations throw {@link PveError} for every non-2xx outcome. */
export interface PveTransport {
  request<T = unknown>(request: PveRequest): Promise<PveResponse<T>>;
}

/** Builds a path from a template and encoded segments: pathOf`/nodes/${node}/lxc/${vmid}`. */
export function pathOf(
  strings: TemplateStringsArray,
  ...segments: Array<string | number>
): string {
  return strings.reduce(
    (path, literal, i) =>
      path +
      literal +
      (i < segments.length ? encodeURIComponent(String(segments[i])) : ''),
    '',
  );
}

export interface HttpsTransportOptions extends PveTlsOptions {
  /** `https://host:8006` (a trailing `/api2/json` is accepted). */
  url: string;
  /** `USER@REALM!TOKENID`. */
  tokenId: string;
  tokenSecret: string;
  /** Per-request socket inactivity timeout. */
  timeoutMs?: number;
}

/** Talks to pveproxy over HTTPS with an API token and a per-cluster pinned certificate. */
export class HttpsTransport implements PveTransport {
  private readonly agent: https.Agent;
  private readonly baseUrl: URL;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(options: HttpsTransportOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:') {
      throw new InputError(
        `The Proxmox API URL must use https: ${url.origin}`,
      );
    }
    if (!/^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$/.test(options.tokenId)) {
      throw new InputError(
        `The token id must look like USER@REALM!TOKENID, got ${JSON.stringify(
          options.tokenId,
        )}`,
      );
    }
    this.baseUrl = new URL(
      `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api2\/json$/, '')}/api2/json`,
    );
    this.authorization = `PVEAPIToken=${options.tokenId}=${options.tokenSecret}`;
    this.agent = createPinnedAgent(options);
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  request<T>(request: PveRequest): Promise<PveResponse<T>> {
    const { method, path, params, signal } = request;
    const encoded = encodeParams(params);
    const hasBody = method === 'POST' || method === 'PUT';
    const url = `${this.baseUrl.pathname}${path}${
      !hasBody && encoded ? `?${encoded}` : ''
    }`;
    const headers: Record<string, string> = {
      Authorization: this.authorization,
      Accept: 'application/json',
    };
    if (hasBody) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(encoded));
    }

    return new Promise<PveResponse<T>>((resolve, reject) => {
      const req = https.request(
        {
          host: this.baseUrl.hostname.replace(/^\[|\]$/g, ''),
          port: this.baseUrl.port || 443,
          path: url,
          method,
          headers,
          agent: this.agent,
          signal,
          timeout: this.timeoutMs,
        },
        res => {
          const chunks: Buffer[] = [];
          res.on('data', chunk => chunks.push(chunk));
          res.on('error', err =>
            reject(this.networkError(method, path, err, signal)),
          );
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const reason = res.statusMessage;
            const text = Buffer.concat(chunks).toString('utf8');
            let body: any;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = undefined;
            }
            if (status >= 200 && status < 300) {
              resolve({ data: body?.data as T, total: body?.total });
              return;
            }
            reject(
              new PveError({
                method,
                path,
                status,
                reason,
                message: trimMessage(body?.message) ?? reason ?? 'no message',
                errors: trimErrors(body?.errors),
              }),
            );
          });
        },
      );
      req.on('timeout', () => {
        const err = Object.assign(new Error('request timed out'), {
          code: 'ETIMEDOUT',
        });
        req.destroy(err);
      });
      req.on('error', err =>
        reject(this.networkError(method, path, err, signal)),
      );
      req.end(hasBody ? encoded : undefined);
    });
  }

  private networkError(
    method: string,
    path: string,
    err: Error,
    signal?: AbortSignal,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    return new PveError(
      {
        method,
        path,
        status: 0,
        code: (err as NodeJS.ErrnoException).code,
        message: err.message,
      },
      err,
    );
  }
}

function trimMessage(message: unknown): string | undefined {
  return typeof message === 'string' ? message.trim() : undefined;
}

function trimErrors(errors: unknown): Record<string, string> | undefined {
  if (!errors || typeof errors !== 'object') return undefined;
  return Object.fromEntries(
    Object.entries(errors as Record<string, unknown>).map(([k, v]) => [
      k,
      String(v).trim(),
    ]),
  );
}
