import { abortableSleep } from '@fediversity/plugin-fediversity-common';

/**
 * Time as the job engine sees it. Injected, so state-machine tests run on a fake clock and their
 * event logs (which carry timestamps and retry times) are reproducible.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `callback` after `ms`; returns a function that cancels the timer. */
  setTimeout(callback: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason once it aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal, (callback, delay) => clock.setTimeout(callback, delay));
}
