import { useEffect, useRef } from 'react';
import { useApiHolder } from '@backstage/core-plugin-api';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { JOB_SIGNAL_CHANNEL, JobSignalMessage } from '@fediversity/plugin-fediversity-common';

export interface JobUpdatesOptions {
  /** Only changes of this job. */
  jobId?: string;
  /** Only changes of jobs on this entity. */
  entityRef?: string;
  /**
   * Also refetch on step progress, which changes neither status nor events (progress bars want it; lists and
   * logs do not, and a running step reports progress every second).
   */
  progress?: boolean;
  /** How often to refetch without signals (the app has no signals API): the polling this replaces. */
  pollMs?: number;
  /**
   * How often to refetch although signals arrive: a signal can be lost (the socket reconnecting, a backend
   * instance without the events bus), so pages still catch up eventually.
   */
  signalledPollMs?: number;
  /** False stops everything, e.g. once the job has finished. */
  enabled?: boolean;
}

export const DEFAULT_POLL_MS = 5_000;
export const DEFAULT_SIGNALLED_POLL_MS = 60_000;
/** Signals arriving together (several jobs, or status and events of one) cause one refetch. */
const REFETCH_DELAY_MS = 100;
/** A page with many busy jobs refetches at most this often. */
const MIN_REFETCH_SPACING_MS = 1_000;

/**
 * Calls `refetch` when the backend signals a change of a matching job (the `fediversity:jobs` channel of Backstage
 * signals), and polls every `pollMs` instead when the app has no signals API. Returns whether signals are used.
 *
 * Subscribes through the SignalApi rather than `useSignal`: `useSignal` keeps only the last message per render,
 * so of two signals arriving together (two jobs) the one this page cares about could be lost.
 */
export function useJobUpdates(refetch: () => unknown, options: JobUpdatesOptions = {}): { live: boolean } {
  const signalApi = useApiHolder().get(signalApiRef);
  const { jobId, entityRef, progress = false, enabled = true } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const signalledPollMs = options.signalledPollMs ?? DEFAULT_SIGNALLED_POLL_MS;
  // The latest callback, so a page passing a new function each render does not resubscribe.
  const refetchRef = useRef(refetch);
  refetchRef.current = refetch;

  useEffect(() => {
    if (!enabled) return undefined;
    const poll = setInterval(() => refetchRef.current(), signalApi ? signalledPollMs : pollMs);
    if (!signalApi) return () => clearInterval(poll);

    const seen = new Map<string, string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastRefetchAt = -Infinity;
    const subscription = signalApi.subscribe<JobSignalMessage>(JOB_SIGNAL_CHANNEL, message => {
      if (!matches(message, { jobId, entityRef })) return;
      if (!progress && 'status' in message) {
        // Same status and newest event as last time: only the progress moved.
        const state = `${message.status}/${message.lastSeq}`;
        if (seen.get(message.jobId) === state) return;
        seen.set(message.jobId, state);
      }
      if (timer) return;
      const wait = Math.max(REFETCH_DELAY_MS, lastRefetchAt + MIN_REFETCH_SPACING_MS - Date.now());
      timer = setTimeout(() => {
        timer = undefined;
        lastRefetchAt = Date.now();
        refetchRef.current();
      }, wait);
    });
    return () => {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      subscription.unsubscribe();
    };
  }, [signalApi, jobId, entityRef, progress, enabled, pollMs, signalledPollMs]);

  return { live: Boolean(signalApi) };
}

/** A signal without an entity ref (broadcast, owners unknown) may concern any entity's page: refetch to be safe. */
export function matches(message: JobSignalMessage, filter: { jobId?: string; entityRef?: string }): boolean {
  if (filter.jobId && message.jobId !== filter.jobId) return false;
  if (filter.entityRef && 'entityRef' in message && !sameRef(message.entityRef, filter.entityRef)) return false;
  return true;
}

/** Entity refs compare without case, as the catalog does. */
function sameRef(a: string, b: string) {
  return a.toLocaleLowerCase('en-US') === b.toLocaleLowerCase('en-US');
}
