import { Fragment, useState } from 'react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Badge, Button, Flex, Text } from '@backstage/ui';
import { jobCreatePermission, JobStatus } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef, RecoveryPoint, RecoveryPointSample, ReplicationRun, ReplicationSchedule } from '../../api';
import {
  CardFrame,
  ErrorAlert,
  formatDuration,
  formatTime,
  JobEventLog,
  JobStatusBadge,
  Loading,
  Sparkline,
  useEntityPermission,
  useJobUpdates,
  usePolled,
} from '../common';

export const REPLICATION_JOB_KIND = 'replication.run';

interface ReplicationState {
  schedules: ReplicationSchedule[];
  points: RecoveryPoint[];
  history: RecoveryPointSample[];
  runs: ReplicationRun[];
  loadedAt: number;
}

const ACTIVE = new Set(['queued', 'running', 'cancelling']);

/** Intervals an owner can pick (the backend accepts 1 minute to 7 days). */
const INTERVALS = [60, 300, 900, 1800, 3600, 6 * 3600, 86_400];

/**
 * Replication of an instance, per data class: strategy, last good run, recovery point, lag, next run and a plot
 * of the recovery point's age over time (every recorded point); the history of runs with their data class and
 * logs; run now / pause / resume / interval for those allowed to start jobs on the instance.
 */
export function ReplicationCard(props: { pollMs?: number }) {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(fediversityApiRef);
  const { allowed: mayChange } = useEntityPermission(jobCreatePermission, entity);
  const [actionError, setActionError] = useState<Error>();
  const { value, loading, error, retry } = usePolled<ReplicationState>(
    async () => {
      const [schedules, points, history, runs] = await Promise.all([
        api.listSchedules(entityRef),
        api.listRecoveryPoints(entityRef),
        api.listRecoveryPointHistory(entityRef),
        api.listReplicationRuns(entityRef),
      ]);
      return { schedules, points, history, runs, loadedAt: Date.now() };
    },
    undefined,
    [api, entityRef],
  );
  // Replication runs are jobs of this entity: refetched when one changes (signals), polled without signals.
  useJobUpdates(retry, { entityRef, pollMs: props.pollMs ?? 10_000 });

  const act = async (action: () => Promise<unknown>) => {
    setActionError(undefined);
    try {
      await action();
      retry();
    } catch (e) {
      setActionError(e as Error);
    }
  };

  let body;
  if (error && !value) {
    body = <ErrorAlert title="Could not load replication" error={error} />;
  } else if (!value) {
    body = loading ? <Loading what="replication" /> : null;
  } else if (value.schedules.length === 0) {
    body = <Text color="secondary">This instance has no replication schedules.</Text>;
  } else {
    body = (
      <Flex direction="column" gap="3">
        {value.schedules.map(schedule => (
          <ScheduleRow
            key={schedule.id}
            schedule={schedule}
            point={value.points.find(p => p.scheduleId === schedule.id)}
            history={value.history.filter(p => p.scheduleId === schedule.id)}
            now={value.loadedAt}
            running={value.runs.find(r => ACTIVE.has(r.status) && (r.scheduleId === schedule.id || r.jobId === schedule.lastJobId))}
            mayChange={mayChange}
            onRun={() => act(() => api.runSchedule(schedule.id))}
            onToggle={() => act(() => api.setScheduleEnabled(schedule.id, !schedule.enabled))}
            onInterval={seconds => act(() => api.updateSchedule(schedule.id, { intervalSeconds: seconds }))}
          />
        ))}
        <RunHistory runs={value.runs.slice(0, 20)} />
      </Flex>
    );
  }
  return (
    <CardFrame title="Replication">
      <Flex direction="column" gap="2">
        {actionError && <ErrorAlert title="The action failed" error={actionError} />}
        {body}
      </Flex>
    </CardFrame>
  );
}

/**
 * The age of the newest consistent copy over time, as a sawtooth: it drops at each recorded point and grows until
 * the next one; the last segment grows until now.
 */
export function recoveryPointAgeSeries(history: RecoveryPointSample[], now: number): Array<[number, number]> {
  const sorted = [...history].sort((a, b) => a.recordedAt - b.recordedAt);
  const series: Array<[number, number]> = [];
  sorted.forEach((sample, i) => {
    const previous = sorted[i - 1];
    if (previous) series.push([sample.recordedAt, Math.max(0, (sample.recordedAt - previous.consistentAt) / 1000)]);
    series.push([sample.recordedAt, Math.max(0, (sample.recordedAt - sample.consistentAt) / 1000)]);
  });
  const last = sorted[sorted.length - 1];
  if (last && now > last.recordedAt) series.push([now, (now - last.consistentAt) / 1000]);
  return series;
}

function ScheduleRow(props: {
  schedule: ReplicationSchedule;
  point?: RecoveryPoint;
  history: RecoveryPointSample[];
  now: number;
  running?: ReplicationRun;
  mayChange: boolean;
  onRun: () => void;
  onToggle: () => void;
  onInterval: (seconds: number) => void;
}) {
  const { schedule, point } = props;
  const intervals = INTERVALS.includes(schedule.intervalSeconds) ? INTERVALS : [...INTERVALS, schedule.intervalSeconds].sort((a, b) => a - b);
  return (
    <section aria-label={`Data class ${schedule.dataClass}`} style={{ borderBottom: '1px solid #8884', paddingBottom: 8 }}>
      <Flex justify="between" align="center">
        <Text weight="bold">
          {schedule.dataClass} · {schedule.strategy} · every {formatDuration(schedule.intervalSeconds)}
        </Text>
        <Flex gap="2" align="center">
          {!schedule.enabled && <Badge>Paused</Badge>}
          {props.running && <Badge>Running</Badge>}
          {schedule.failCount > 0 && <Badge>Failing ({schedule.failCount})</Badge>}
          {props.mayChange && (
            <>
              <Button size="small" variant="secondary" onPress={props.onRun} isDisabled={!!props.running}>
                Run now
              </Button>
              <Button size="small" variant="tertiary" onPress={props.onToggle}>
                {schedule.enabled ? 'Pause' : 'Resume'}
              </Button>
              <select
                aria-label={`Interval of ${schedule.dataClass}`}
                value={schedule.intervalSeconds}
                onChange={event => props.onInterval(Number(event.target.value))}
              >
                {intervals.map(seconds => (
                  <option key={seconds} value={seconds}>
                    every {formatDuration(seconds)}
                  </option>
                ))}
              </select>
            </>
          )}
        </Flex>
      </Flex>
      <Flex gap="4" align="center">
        <Text>Last good run: {formatTime(point?.recordedAt)}</Text>
        <Text>Recovery point: {formatTime(point?.consistentAt)}</Text>
        <Text>Lag: {point ? formatDuration(point.ageSeconds) : '—'}</Text>
        <Text>Next run: {schedule.enabled ? formatTime(schedule.nextRunAt) : 'paused'}</Text>
        <Sparkline
          points={recoveryPointAgeSeries(props.history, props.now)}
          label={`Recovery point age of ${schedule.dataClass}`}
          format={v => formatDuration(v)}
        />
      </Flex>
      {schedule.lastError && (
        <Text color="danger">Last run failed: {schedule.lastError}</Text>
      )}
    </section>
  );
}

function RunHistory(props: { runs: ReplicationRun[] }) {
  const [open, setOpen] = useState<string>();
  if (props.runs.length === 0) return <Text color="secondary">No runs yet.</Text>;
  return (
    <table aria-label="Replication runs" style={{ width: '100%', borderCollapse: 'collapse' }}>
      <thead>
        <tr>
          <th align="left">Started</th>
          <th align="left">Data class</th>
          <th align="left">Status</th>
          <th align="left">Finished</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.runs.map(run => (
          <Fragment key={run.jobId}>
            <tr>
              <td>{formatTime(run.createdAt)}</td>
              <td>{run.dataClass ?? '—'}</td>
              <td>
                <JobStatusBadge status={run.status as JobStatus} />
                {run.error ? ` ${run.error}` : ''}
              </td>
              <td>{formatTime(run.finishedAt)}</td>
              <td>
                <Button size="small" variant="tertiary" onPress={() => setOpen(open === run.jobId ? undefined : run.jobId)}>
                  {open === run.jobId ? 'Hide log' : 'Show log'}
                </Button>
              </td>
            </tr>
            {open === run.jobId && (
              <tr>
                <td colSpan={5}>
                  <JobEventLog jobId={run.jobId} />
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}
