import { LoggerService } from '@backstage/backend-plugin-api';

/**
 * Logs `message (Ns)` every `intervalMs` until stopped, so the task log never goes silent for long: UIs behind
 * load balancers give up after about a minute without output.
 */
export function startHeartbeat(logger: LoggerService, message: string, intervalMs = 25_000): () => void {
  const started = Date.now();
  const timer = setInterval(() => {
    logger.info(`${message} (${Math.round((Date.now() - started) / 1000)} s)`);
  }, intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}

/** Sleeps, rejecting with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
