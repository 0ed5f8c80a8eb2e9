import { useCallback, useEffect, useRef, useState } from 'react';
import { useApi, useApiHolder } from '@backstage/core-plugin-api';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { JobDetails, JobEvent, TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef } from '../../api';
import { useJobUpdates } from './useJobUpdates';

/** The most events one request returns (the API's maximum). */
const EVENTS_PAGE = 1000;

/**
 * A job and its event log, kept live. With Backstage signals, the job and its new events are fetched whenever the
 * backend signals a change of the job (and now and then in case a signal was lost). Without, events arrive through
 * the backend's long-poll event stream (`/jobs/:id/events?after=&wait=`) and the job itself is polled every
 * `pollMs`, which also picks up step and approval changes. Everything stops once the job is finished.
 */
export function useLiveJob(jobId: string | undefined, options: { pollMs?: number; waitSeconds?: number } = {}) {
  const api = useApi(fediversityApiRef);
  const signalsAvailable = Boolean(useApiHolder().get(signalApiRef));
  const pollMs = options.pollMs ?? 2000;
  const waitSeconds = options.waitSeconds ?? 20;
  const [job, setJob] = useState<JobDetails>();
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<Error>();
  const lastSeq = useRef(0);
  const catchUp = useRef<() => void>();

  const refresh = useCallback(async () => {
    if (!jobId) return undefined;
    try {
      const current = await api.getJob(jobId);
      setJob(current);
      setError(undefined);
      return current;
    } catch (e) {
      setError(e as Error);
      return undefined;
    }
  }, [api, jobId]);

  useEffect(() => {
    setJob(undefined);
    setEvents([]);
    lastSeq.current = 0;
    catchUp.current = undefined;
    if (!jobId) return undefined;
    let stopped = false;
    const append = (page: { events: JobEvent[]; lastSeq: number }) => {
      if (stopped || !page.events.length) return;
      lastSeq.current = page.lastSeq;
      setEvents(previous => [...previous, ...page.events]);
    };

    if (signalsAvailable) {
      // One reading at a time, so no event is appended twice; a signal during a reading asks for another.
      let reading = false;
      let again = false;
      const read = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            // The job first: events committed before the status it shows are then all in the pages that follow.
            await refresh();
            for (;;) {
              const page = await api.listJobEvents(jobId, { after: lastSeq.current, limit: EVENTS_PAGE });
              append(page);
              if (stopped || page.events.length < EVENTS_PAGE) break;
            }
          } while (again && !stopped);
        } catch (e) {
          if (!stopped) setError(e as Error);
        } finally {
          reading = false;
        }
      };
      catchUp.current = read;
      read();
      return () => {
        stopped = true;
        catchUp.current = undefined;
      };
    }

    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const current = await refresh();
      const finished = current && TERMINAL_JOB_STATUSES.includes(current.status);
      if (!stopped && !finished) timer = setTimeout(poll, pollMs);
    };
    const stream = async () => {
      while (!stopped) {
        try {
          const page = await api.listJobEvents(jobId, { after: lastSeq.current, wait: waitSeconds });
          if (stopped) return;
          append(page);
          if (TERMINAL_JOB_STATUSES.includes(page.jobStatus) && page.events.length === 0) {
            await refresh();
            return;
          }
        } catch (e) {
          if (stopped) return;
          setError(e as Error);
          await new Promise(resolve => setTimeout(resolve, pollMs));
        }
      }
    };
    poll();
    stream();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [api, jobId, pollMs, waitSeconds, refresh, signalsAvailable]);

  const finished = job !== undefined && TERMINAL_JOB_STATUSES.includes(job.status);
  useJobUpdates(() => catchUp.current?.(), {
    jobId,
    progress: true,
    enabled: signalsAvailable && !!jobId && !finished,
  });

  return { job, events, error, refresh, setJob, live: signalsAvailable };
}
