import { useCallback, useEffect, useRef, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { JobDetails, JobEvent, TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef } from '../../api';

/**
 * A job and its event log, kept live: events arrive through the backend's long-poll event stream
 * (`/jobs/:id/events?after=&wait=`), and the job itself is polled every `pollMs` as the fallback that also
 * picks up step and approval changes. Both stop once the job is finished.
 */
export function useLiveJob(jobId: string | undefined, options: { pollMs?: number; waitSeconds?: number } = {}) {
  const api = useApi(fediversityApiRef);
  const pollMs = options.pollMs ?? 2000;
  const waitSeconds = options.waitSeconds ?? 20;
  const [job, setJob] = useState<JobDetails>();
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<Error>();
  const lastSeq = useRef(0);

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
    if (!jobId) return undefined;
    let stopped = false;
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
          if (page.events.length) {
            lastSeq.current = page.lastSeq;
            setEvents(previous => [...previous, ...page.events]);
          }
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
  }, [api, jobId, pollMs, waitSeconds, refresh]);

  return { job, events, error, refresh, setJob };
}
