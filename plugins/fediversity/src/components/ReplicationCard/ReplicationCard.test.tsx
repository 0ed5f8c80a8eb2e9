import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReplicationCard } from './ReplicationCard';
import { apiError, ENTITY_REF, fakeApi, instanceNamed, renderWithEntity } from '../common/testing';
import { ReplicationSchedule } from '../../api';

const now = Date.UTC(2026, 10, 25, 23, 0, 0);
const schedule = (overrides: Partial<ReplicationSchedule> = {}): ReplicationSchedule => ({
  id: 's-db',
  entityRef: ENTITY_REF,
  dataClass: 'database',
  strategy: 'postgres',
  intervalSeconds: 300,
  enabled: true,
  nextRunAt: now + 300_000,
  failCount: 0,
  ...overrides,
});
const point = (recordedAt: number, lagSeconds: number) => ({
  scheduleId: 's-db',
  entityRef: ENTITY_REF,
  dataClass: 'database',
  consistentAt: recordedAt - lagSeconds * 1000,
  recordedAt,
  ageSeconds: lagSeconds,
  detail: {},
});

describe('ReplicationCard', () => {
  it('shows strategy, recovery point, lag with its plot, and the run history with logs', async () => {
    const api = fakeApi({
      listSchedules: jest.fn(async () => [schedule({ lastJobId: 'run-2' })]),
      listRecoveryPoints: jest.fn(async () => [point(now - 600_000, 4), point(now, 2)]),
      listJobs: jest.fn(async () => ({
        items: [
          { id: 'run-2', kind: 'replication.run', entityRef: ENTITY_REF, status: 'running' as const, attempt: 1, cancelRequested: false, createdBy: 'x', createdAt: new Date(now).toISOString(), updatedAt: '', progress: { stepsDone: 0, stepsTotal: 1 } },
          { id: 'run-1', kind: 'replication.run', entityRef: ENTITY_REF, status: 'succeeded' as const, attempt: 1, cancelRequested: false, createdBy: 'x', createdAt: new Date(now - 600_000).toISOString(), updatedAt: '', finishedAt: new Date(now - 590_000).toISOString(), progress: { stepsDone: 1, stepsTotal: 1 } },
        ],
      })),
      listJobEvents: jest.fn(async () => ({ events: [{ jobId: 'run-1', seq: 1, ts: new Date(now).toISOString(), level: 'info' as const, step: 'sync', message: 'standby caught up' }], lastSeq: 1, jobStatus: 'succeeded' as const })),
    });
    renderWithEntity(<ReplicationCard />, { api });

    const row = await screen.findByRole('region', { name: 'Data class database' });
    expect(within(row).getByText(/postgres · every 5 min 0 s/)).toBeInTheDocument();
    expect(within(row).getByText('Lag: 2 s')).toBeInTheDocument();
    expect(within(row).getByText('Recovery point: 2026-11-25 22:59:58 UTC')).toBeInTheDocument();
    expect(within(row).getByRole('img', { name: 'Lag of database: 2 points, latest 2 s' })).toBeInTheDocument();
    expect(within(row).getByText('Running')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: 'Run now' })).toBeDisabled();
    expect(api.listJobs).toHaveBeenCalledWith({ entityRef: ENTITY_REF, kind: 'replication.run', limit: 20 });

    const runs = screen.getByRole('table', { name: 'Replication runs' });
    expect(within(runs).getByText('Succeeded')).toBeInTheDocument();
    await userEvent.click(within(runs).getAllByRole('button', { name: 'Show log' })[1]);
    expect(await screen.findByText(/\[sync\] standby caught up/)).toBeInTheDocument();
  });

  it('runs now and pauses for owners, and shows a refused action clearly', async () => {
    const api = fakeApi({
      listSchedules: jest.fn(async () => [schedule()]),
      runSchedule: jest.fn(async () => ({ jobId: 'run-3', kind: 'replication.run', status: 'queued' })),
      setScheduleEnabled: jest.fn(async () => { throw apiError(403, 'NotAllowedError', 'Not allowed: fediversity.job.create'); }),
    });
    renderWithEntity(<ReplicationCard />, { api });
    await userEvent.click(await screen.findByRole('button', { name: 'Run now' }));
    expect(api.runSchedule).toHaveBeenCalledWith('s-db');
    await userEvent.click(screen.getByRole('button', { name: 'Pause' }));
    expect(api.setScheduleEnabled).toHaveBeenCalledWith('s-db', false);
    expect(await screen.findByText('You are not allowed to do this: Not allowed: fediversity.job.create')).toBeInTheDocument();
  });

  it('offers no actions to people who may not start jobs, and shows a failing schedule', async () => {
    const api = fakeApi({
      listSchedules: jest.fn(async () => [schedule({ enabled: false, failCount: 2, lastError: 'ssh: connection refused' })]),
    });
    renderWithEntity(<ReplicationCard />, { api, allow: false, entity: instanceNamed('denied-replication') });
    const row = await screen.findByRole('region', { name: 'Data class database' });
    expect(within(row).getByText('Failing (2)')).toBeInTheDocument();
    expect(within(row).getByText('Paused')).toBeInTheDocument();
    expect(within(row).getByText('Last run failed: ssh: connection refused')).toBeInTheDocument();
    expect(within(row).getByText('Lag: —')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Run now' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Resume' })).not.toBeInTheDocument();
    expect(screen.getByText('No runs yet.')).toBeInTheDocument();
  });

  it('shows loading, empty and error states', async () => {
    const loading = renderWithEntity(<ReplicationCard />, { api: fakeApi({ listSchedules: jest.fn(() => new Promise(() => {})) }) });
    expect(await screen.findByText('Loading replication…')).toBeInTheDocument();
    loading.unmount();

    const empty = renderWithEntity(<ReplicationCard />, { api: fakeApi() });
    expect(await screen.findByText('This instance has no replication schedules.')).toBeInTheDocument();
    empty.unmount();

    renderWithEntity(<ReplicationCard />, {
      api: fakeApi({ listSchedules: jest.fn(async () => { throw apiError(500, 'Error', 'database is locked'); }) }),
    });
    expect(await screen.findByText('Could not load replication')).toBeInTheDocument();
    expect(screen.getByText('database is locked')).toBeInTheDocument();
  });
});
