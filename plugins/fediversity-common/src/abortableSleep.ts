/** Starts a timer and returns a function that cancels it: `setTimeout`, or an injected clock's. */
export type ScheduleTimer = (callback: () => void, ms: number) => () => void;

const systemTimer: ScheduleTimer = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  return () => clearTimeout(timer);
};

/**
 * Resolves after `ms`, or rejects with the signal's own reason once it aborts, so a caller can tell a lost
 * lease from a stopping backend (`timers/promises` would wrap every reason in an AbortError).
 */
export function abortableSleep(ms: number, signal?: AbortSignal, schedule: ScheduleTimer = systemTimer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const cancelTimer = schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      cancelTimer();
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
