import { JobEvent } from '@fediversity/plugin-fediversity-common';
import { formatBytes, formatDuration } from '../common';

/**
 * The latest catch-up measurement of a migration, from its event log: the `instance.migrate` kind logs
 * `Catch-up round N` with `{ caughtUp, results: { <strategy>: { seconds, lagBytes?, caughtUp } } }`.
 */
export function measuredLag(events: JobEvent[]): string[] | undefined {
  const latest = [...events].reverse().find(e => /^Catch-up round/.test(e.message) && e.fields?.results);
  if (!latest) return undefined;
  const results = latest.fields!.results as Record<string, { seconds?: number; lagBytes?: number; caughtUp?: boolean }>;
  return Object.entries(results).map(([strategy, r]) => {
    const parts = [
      r.seconds !== undefined ? `last pass ${formatDuration(r.seconds)}` : undefined,
      r.lagBytes !== undefined ? `${formatBytes(r.lagBytes)} behind` : undefined,
      r.caughtUp ? 'caught up' : 'not caught up',
    ].filter(Boolean);
    return `${strategy}: ${parts.join(', ')} (${latest.message})`;
  });
}
