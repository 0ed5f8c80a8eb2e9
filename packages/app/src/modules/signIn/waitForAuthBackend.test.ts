import { freePort, startFakeAuthBackend } from './testing';
import { waitForAuthBackend } from './waitForAuthBackend';

const FAST = { firstDelayMs: 20, maxDelayMs: 50 };

describe('waitForAuthBackend', () => {
  it('waits through refused connections and server errors, and resolves on the first real answer', async () => {
    const port = await freePort();
    const problems: string[] = [];
    let backend: Awaited<ReturnType<typeof startFakeAuthBackend>> | undefined;
    const waiting = waitForAuthBackend({
      ...FAST,
      refreshUrl: async () => `http://127.0.0.1:${port}/api/auth/guest/refresh`,
      onRetry: async (attempt, problem) => {
        problems.push(problem);
        // The backend comes up after two refused connections, still starting (503) for two more requests.
        if (attempt === 2) backend = await startFakeAuthBackend([503, 503, 200], port);
      },
    });
    try {
      await waiting;
      expect(problems).toHaveLength(4);
      expect(problems.slice(2)).toEqual(['HTTP 503', 'HTTP 503']);
      expect(backend!.answered).toEqual([503, 503, 200]);
    } finally {
      await backend?.stop();
    }
  });

  it('takes a 4xx as an answer: the sign-in page decides what it means', async () => {
    const backend = await startFakeAuthBackend([401]);
    const onRetry = jest.fn();
    try {
      await waitForAuthBackend({ ...FAST, refreshUrl: async () => `${backend.url}/api/auth/guest/refresh`, onRetry });
      expect(onRetry).not.toHaveBeenCalled();
      expect(backend.answered).toEqual([401]);
    } finally {
      await backend.stop();
    }
  });

  it('stops when aborted', async () => {
    const port = await freePort();
    const controller = new AbortController();
    const waiting = waitForAuthBackend({
      ...FAST,
      refreshUrl: async () => `http://127.0.0.1:${port}/api/auth/guest/refresh`,
      onRetry: attempt => {
        if (attempt === 3) controller.abort(new Error('left the page'));
      },
      signal: controller.signal,
    });
    await expect(waiting).rejects.toThrow('left the page');
  });
});
