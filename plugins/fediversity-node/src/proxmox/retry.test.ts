import { PveError } from './PveError';
import { isSafeToRetry, RetryingTransport } from './retry';
import { PveRequest, PveTransport } from './transport';

const error = (status: number, code?: string) =>
  new PveError({ method: 'X', path: '/x', status, code, message: 'boom' });
const get: PveRequest = { method: 'GET', path: '/cluster/resources' };
const post: PveRequest = { method: 'POST', path: '/nodes/pve-a/lxc' };

describe('isSafeToRetry', () => {
  it('retries reads on network failures and transient statuses', () => {
    expect(isSafeToRetry(get, error(0, 'ECONNRESET'))).toBe(true);
    expect(isSafeToRetry(get, error(595))).toBe(true);
    expect(isSafeToRetry(get, error(503))).toBe(true);
    expect(isSafeToRetry(get, error(500))).toBe(false);
    expect(isSafeToRetry(get, error(400))).toBe(false);
    expect(isSafeToRetry(get, error(0, 'ERR_PVE_TLS_PIN'))).toBe(false);
  });

  it('retries writes only when the request cannot have reached the API daemon', () => {
    expect(isSafeToRetry(post, error(595))).toBe(true);
    expect(isSafeToRetry(post, error(596))).toBe(true);
    expect(isSafeToRetry(post, error(0, 'ECONNREFUSED'))).toBe(true);
    expect(isSafeToRetry(post, error(0, 'ECONNRESET'))).toBe(false);
    expect(isSafeToRetry(post, error(0, 'ETIMEDOUT'))).toBe(false);
    expect(isSafeToRetry(post, error(500))).toBe(false);
    expect(isSafeToRetry(post, error(503))).toBe(false);
    expect(isSafeToRetry(post, new Error('not a PVE error'))).toBe(false);
  });
});

describe('RetryingTransport', () => {
  const failingThen = (failures: unknown[]): PveTransport & { calls: number } => {
    const transport = {
      calls: 0,
      async request<T>() {
        const failure = failures[transport.calls++];
        if (failure) throw failure;
        return { data: 'ok' as unknown as T };
      },
    };
    return transport;
  };

  it('backs off exponentially between attempts and succeeds', async () => {
    const sleeps: number[] = [];
    const inner = failingThen([error(595), error(595), error(0, 'ECONNRESET')]);
    const transport = new RetryingTransport(inner, {
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      random: () => 1,
      clock: { now: () => 0, sleep: async ms => void sleeps.push(ms) },
    });
    await expect(transport.request(get)).resolves.toEqual({ data: 'ok' });
    expect(inner.calls).toBe(4);
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('gives up after maxAttempts and never repeats an unsafe write', async () => {
    const clock = { now: () => 0, sleep: async () => {} };
    const reads = failingThen([error(596), error(596), error(596)]);
    await expect(new RetryingTransport(reads, { maxAttempts: 2, clock }).request(get)).rejects.toThrow(
      /596/,
    );
    expect(reads.calls).toBe(2);
    const writes = failingThen([error(500), undefined]);
    await expect(new RetryingTransport(writes, { clock }).request(post)).rejects.toThrow(/500/);
    expect(writes.calls).toBe(1);
  });

  it('stops retrying when aborted', async () => {
    const controller = new AbortController();
    const inner = failingThen([error(595), error(595)]);
    const transport = new RetryingTransport(inner, {
      clock: {
        now: () => 0,
        sleep: async () => {
          controller.abort(new Error('cancelled'));
          throw controller.signal.reason;
        },
      },
    });
    await expect(transport.request({ ...get, signal: controller.signal })).rejects.toThrow('cancelled');
    expect(inner.calls).toBe(1);
  });
});
