import { DependencyList, useEffect } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';

/**
 * Loads with `load` and loads again every `intervalMs` (the fallback for live updates when nothing pushes).
 * Keeps the previous value while reloading, so a card does not flash back to its loading state.
 */
export function usePolled<T>(load: () => Promise<T>, intervalMs: number | undefined, deps: DependencyList) {
  const state = useAsyncRetry(load, deps);
  const { retry } = state;
  useEffect(() => {
    if (!intervalMs) return undefined;
    const timer = setInterval(retry, intervalMs);
    return () => clearInterval(timer);
  }, [retry, intervalMs]);
  return state;
}
