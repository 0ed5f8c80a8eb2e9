import { abortableSleep } from '@fediversity/plugin-fediversity-common';

export interface WaitForAuthBackendOptions {
  /** The guest provider's refresh endpoint, the first call Backstage's guest sign-in makes on a page load. */
  refreshUrl: () => Promise<string>;
  fetch?: typeof fetch;
  /** Told about each failed attempt, e.g. to say why the page still waits; the next attempt waits for it. */
  onRetry?: (attempt: number, problem: string) => void | Promise<void>;
  signal?: AbortSignal;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Resolves once the auth backend answers the guest refresh with anything but a server error; retries with backoff
 * while it is unreachable or starting up (connection refused, 5xx), and rejects only when `signal` aborts.
 *
 * Backstage's guest sign-in treats a failed refresh on page load as "not signed in" and shows the sign-in page, so
 * a reload while the backend restarts (as it does on every source change under `npm start`) looked like a lost
 * session. A definite answer (2xx, 4xx) is left to Backstage's sign-in page to act on.
 */
export async function waitForAuthBackend(options: WaitForAuthBackendOptions): Promise<void> {
  const { signal, firstDelayMs = 500, maxDelayMs = 5_000 } = options;
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const url = await options.refreshUrl();
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    try {
      const response = await fetchFn(url, {
        credentials: 'include',
        headers: { 'x-requested-with': 'XMLHttpRequest' },
        signal,
      });
      await response.body?.cancel().catch(() => {});
      if (response.status < 500) return;
      problem = `HTTP ${response.status}`;
    } catch (error) {
      if (signal?.aborted) throw error;
      problem = (error as Error).message;
    }
    await options.onRetry?.(attempt, problem);
    await abortableSleep(Math.min(firstDelayMs * 2 ** (attempt - 1), maxDelayMs), signal);
  }
}
