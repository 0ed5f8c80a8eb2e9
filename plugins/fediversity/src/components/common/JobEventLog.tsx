import { useApi } from '@backstage/core-plugin-api';
import { Text } from '@backstage/ui';
import { JobEvent, TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef } from '../../api';
import { ErrorAlert } from './ErrorAlert';
import { formatTime } from './format';
import { usePolled } from './usePolled';
import { useJobUpdates } from './useJobUpdates';
import { Loading } from './CardFrame';

/** The event log of one job, as lines. */
export function EventLines(props: { events: JobEvent[]; label?: string }) {
  if (props.events.length === 0) return <Text color="secondary">No events yet.</Text>;
  return (
    <pre
      aria-label={props.label ?? 'Event log'}
      style={{ maxHeight: 240, overflow: 'auto', fontSize: 12, margin: 0, whiteSpace: 'pre-wrap' }}
    >
      {props.events
        .map(e => `${formatTime(e.ts)} ${e.level.toUpperCase().padEnd(5)} ${e.step ? `[${e.step}] ` : ''}${e.message}`)
        .join('\n')}
    </pre>
  );
}

/** Shows a job's log (history rows); reloaded on the job's changes while it runs. */
export function JobEventLog(props: { jobId: string }) {
  const api = useApi(fediversityApiRef);
  const { value, error, retry } = usePolled(
    () => api.listJobEvents(props.jobId, { after: 0, limit: 1000 }),
    undefined,
    [api, props.jobId],
  );
  const running = value !== undefined && !TERMINAL_JOB_STATUSES.includes(value.jobStatus);
  useJobUpdates(retry, { jobId: props.jobId, enabled: running });
  if (error) return <ErrorAlert title="Could not load the job's log" error={error} />;
  if (!value) return <Loading what="the log" />;
  return <EventLines events={value.events} label={`Log of job ${props.jobId}`} />;
}
