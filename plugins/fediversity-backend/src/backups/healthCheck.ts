import { z } from 'zod';

/** The app's HTTP health endpoint, checked on the restored guest's own address. */
export const httpHealthSchema = z
  .object({
    scheme: z.enum(['http', 'https']).default('http'),
    port: z.number().int().min(1).max(65535),
    /** `/health`, `/api/v1/instance`… (path and query only; the host is always the restored guest). */
    path: z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*$/, 'a URL path').max(500).default('/'),
    /** The status the endpoint answers when healthy; any 2xx when absent. */
    expectStatus: z.number().int().min(100).max(599).optional(),
    /** How long the app may take to come up after the guest started. */
    timeoutSeconds: z.number().int().min(1).max(900).default(120),
  })
  .strict();
export type HttpHealth = z.infer<typeof httpHealthSchema>;

export interface HttpHealthResult {
  ok: boolean;
  url: string;
  status?: number;
  attempts: number;
  elapsedMs: number;
  error?: string;
}

/** The static IPv4 of a container's first interface (`net0: name=eth0,…,ip=10.0.0.5/24`), if it has one. */
export function guestIpv4(config: Record<string, unknown>): string | undefined {
  const net0 = typeof config.net0 === 'string' ? config.net0 : '';
  const ip = /(?:^|,)ip=(\d{1,3}(?:\.\d{1,3}){3})(?:\/\d{1,2})?(?:,|$)/.exec(net0);
  return ip?.[1];
}

/**
 * Polls the endpoint until it answers as expected or the timeout passes (a restored app needs a while to start).
 * Never throws: the result says what was seen, for the job output and the drill record.
 */
export async function checkHttpHealth(
  address: string,
  health: HttpHealth,
  options: { signal?: AbortSignal; now?: () => number; sleep?: (ms: number) => Promise<void>; attemptTimeoutMs?: number } = {},
): Promise<HttpHealthResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? (ms => new Promise(resolve => setTimeout(resolve, ms)));
  const url = `${health.scheme}://${address}:${health.port}${health.path}`;
  const started = now();
  const deadline = started + health.timeoutSeconds * 1000;
  let attempts = 0;
  let last: Pick<HttpHealthResult, 'status' | 'error'> = {};
  for (;;) {
    attempts++;
    try {
      const response = await fetch(url, {
        redirect: 'manual',
        signal: AbortSignal.any([
          AbortSignal.timeout(options.attemptTimeoutMs ?? 10_000),
          ...(options.signal ? [options.signal] : []),
        ]),
      });
      await response.body?.cancel();
      last = { status: response.status };
      const ok = health.expectStatus !== undefined ? response.status === health.expectStatus : response.ok;
      if (ok) return { ok: true, url, status: response.status, attempts, elapsedMs: now() - started };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      last = { error: (error as Error).message };
    }
    if (now() >= deadline) return { ok: false, url, attempts, elapsedMs: now() - started, ...last };
    await sleep(Math.min(2_000, Math.max(0, deadline - now())));
  }
}
