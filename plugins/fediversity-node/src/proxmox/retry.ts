import { backoffDelay, Clock, systemClock } from './clock';
import { PveError } from './PveError';
import { PveRequest, PveResponse, PveTransport } from './transport';

export interface RetryOptions {
  /** Attempts in total, including the first. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  clock?: Clock;
  random?: () => number;
}

/** pveproxy could not reach the node it proxies to: the request never reached the API daemon. */
const PROXY_UNREACHABLE = new Set([595, 596]);
const TRANSIENT_STATUS = new Set([502, 503, 504, 595, 596]);
/** The connection was never established, so nothing was sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
const NEVER_RETRY = new Set(['ERR_PVE_TLS_PIN']);

/**
 * Whether a failed request may be sent again without risking a second side effect. Reads (GET) are retried on
 * any network failure or transient status. Writes are retried only when the request provably did not reach the
 * API daemon (595/596 from pveproxy, or no connection at all); a write that failed otherwise (500, reset,
 * timeout) is never repeated, because PVE may have acted on it: the caller reconciles instead.
 */
export function isSafeToRetry(request: PveRequest, error: unknown): boolean {
  if (!(error instanceof PveError)) return false;
  if (error.code && NEVER_RETRY.has(error.code)) return false;
  if (error.status === 0 && /certificate|self.signed|SSL|TLS/i.test(error.pveMessage)) {
    return false;
  }
  if (request.method === 'GET') {
    return error.status === 0 || TRANSIENT_STATUS.has(error.status);
  }
  return (
    PROXY_UNREACHABLE.has(error.status) ||
    (error.status === 0 && !!error.code && NOT_CONNECTED.has(error.code))
  );
}

/** Wraps a transport with retries (exponential backoff with jitter) where {@link isSafeToRetry} allows them. */
export class RetryingTransport implements PveTransport {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly clock: Clock;
  private readonly random?: () => number;

  constructor(private readonly inner: PveTransport, options: RetryOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 4_000;
    this.clock = options.clock ?? systemClock;
    this.random = options.random;
  }

  async request<T>(request: PveRequest): Promise<PveResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.inner.request<T>(request);
      } catch (error) {
        if (
          attempt + 1 >= this.maxAttempts ||
          request.signal?.aborted ||
          !isSafeToRetry(request, error)
        ) {
          throw error;
        }
        await this.clock.sleep(
          backoffDelay(attempt, {
            baseMs: this.baseDelayMs,
            maxMs: this.maxDelayMs,
            random: this.random,
          }),
          request.signal,
        );
      }
    }
  }
}
