import { Fragment, useState } from 'react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Badge, Button, Flex, Text } from '@backstage/ui';
import { jobCreatePermission, JobSummary } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef, RecoveryPoint, ReplicationSchedule } from '../../api';
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
  usePolled,
} from '../common';

export const REPLICATION_JOB_KIND = 'replication.run';

interface ReplicationState {
  schedules: ReplicationSchedule[];
  points: RecoveryPoint[];
  runs: JobSummary[];
}

/**
 * Replication of an instance, per data class: strategy, last good run, recovery point, lag, next run and a plot
 * of the lag over the recorded recovery points; the history of runs with their logs; run now / pause / resume
 * for those allowed to start jobs on the instance.
 */
export function ReplicationCard(props: { pollMs?: number }) {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(fediversityApiRef);
  const { allowed: mayChange } = useEntityPermission(jobCreatePermission, entity);
  const [actionError, setActionError] = useState<Error>();
  const { value, loading, error, retry } = usePolled<ReplicationState>(
    async () => {
      const [schedules, points, runs] = await Promise.all([
        api.listSchedules(entityRef),
        api.listRecoveryPoints(entityRef),
        api.listJobs({ entityRef, kind: REPLICATION_JOB_KIND, limit: 20 }).then(r => r.items),
      ]);
      return { schedules, points, runs };
    },
    props.pollMs ?? 10_000,
    [api, entityRef],
  );

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
            points={value.points.filter(p => p.scheduleId === schedule.id)}
            running={value.runs.find(
              r => (r.status === 'running' || r.status === 'queued') && schedule.lastJobId === r.id,
            )}
            mayChange={mayChange}
            onRun={() => act(() => api.runSchedule(schedule.id))}
            onToggle={() => act(() => api.setScheduleEnabled(schedule.id, !schedule.enabled))}
          />
        ))}
        <RunHistory runs={value.runs} />
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

function ScheduleRow(props: {
  schedule: ReplicationSchedule;
  points: RecoveryPoint[];
  running?: JobSummary;
  mayChange: boolean;
  onRun: () => void;
  onToggle: () => void;
}) {
  const { schedule, points } = props;
  const latest = [...points].sort((a, b) => b.recordedAt - a.recordedAt)[0];
  const lagSeries = points.map(p => [p.recordedAt, Math.max(0, (p.recordedAt - p.consistentAt) / 1000)] as [number, number]);
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
            </>
          )}
        </Flex>
      </Flex>
      <Flex gap="4" align="center">
        <Text>Last good run: {formatTime(latest?.recordedAt)}</Text>
        <Text>Recovery point: {formatTime(latest?.consistentAt)}</Text>
        <Text>Lag: {latest ? formatDuration(latest.ageSeconds) : '—'}</Text>
        <Text>Next run: {schedule.enabled ? formatTime(schedule.nextRunAt) : 'paused'}</Text>
        <Sparkline points={lagSeries} label={`Lag of ${schedule.dataClass}`} format={v => formatDuration(v)} />
      </Flex>
      {schedule.lastError && (
        <Text color="danger">Last run failed: {schedule.lastError}</Text>
      )}
    </section>
  );
}

function RunHistory(props: { runs: JobSummary[] }) {
  const [open, setOpen] = useState<string>();
  if (props.runs.length === 0) return <Text color="secondary">No runs yet.</Text>;
  return (
    <table aria-label="Replication runs" style={{ width: '100%', borderCollapse: 'collapse' }}>
      <thead>
        <tr>
          <th align="left">Started</th>
          <th align="left">Status</th>
          <th align="left">Finished</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.runs.map(run => (
          <Fragment key={run.id}>
            <tr>
              <td>{formatTime(run.createdAt)}</td>
              <td>
                <JobStatusBadge status={run.status} />
                {run.error ? ` ${run.error.message}` : ''}
              </td>
              <td>{formatTime(run.finishedAt)}</td>
              <td>
                <Button size="small" variant="tertiary" onPress={() => setOpen(open === run.id ? undefined : run.id)}>
                  {open === run.id ? 'Hide log' : 'Show log'}
                </Button>
              </td>
            </tr>
            {open === run.id && (
              <tr>
                <td colSpan={4}>
                  <JobEventLog jobId={run.id} />
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}
