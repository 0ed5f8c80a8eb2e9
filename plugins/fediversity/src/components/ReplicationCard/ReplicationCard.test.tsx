import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReplicationCard, recoveryPointAgeSeries } from './ReplicationCard';
import { apiError, ENTITY_REF, fakeApi, instanceNamed, renderWithEntity } from '../common/__testUtils__';
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

const sample = (recordedAt: number, lagSeconds: number) => ({
  scheduleId: 's-db',
  dataClass: 'database',
  consistentAt: recordedAt - lagSeconds * 1000,
  recordedAt,
});

describe('ReplicationCard', () => {
  it('shows strategy, recovery point, lag, the recovery point age plotted over time, and the runs with logs', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(now + 60_000);
    const api = fakeApi({
      listSchedules: jest.fn(async () => [schedule({ lastJobId: 'run-1' })]),
      listRecoveryPoints: jest.fn(async () => [point(now, 2)]),
      listRecoveryPointHistory: jest.fn(async () => [sample(now - 600_000, 4), sample(now - 300_000, 3), sample(now, 2)]),
      listReplicationRuns: jest.fn(async () => [
        { jobId: 'run-2', scheduleId: 's-db', dataClass: 'database', status: 'running', createdBy: 'x', createdAt: now },
        { jobId: 'run-1', scheduleId: 's-db', dataClass: 'database', status: 'succeeded', createdBy: 'x', createdAt: now - 600_000, finishedAt: now - 590_000 },
      ]),
      listJobEvents: jest.fn(async () => ({ events: [{ jobId: 'run-1', seq: 1, ts: new Date(now).toISOString(), level: 'info' as const, step: 'sync', message: 'standby caught up' }], lastSeq: 1, jobStatus: 'succeeded' as const })),
    });
    renderWithEntity(<ReplicationCard />, { api });

    const row = await screen.findByRole('region', { name: 'Data class database' });
    expect(within(row).getByText(/postgres · every 5 min 0 s/)).toBeInTheDocument();
    expect(within(row).getByText('Lag: 2 s')).toBeInTheDocument();
    expect(within(row).getByText('Recovery point: 2026-11-25 22:59:58 UTC')).toBeInTheDocument();
    // Three recorded points → a sawtooth (drop at each point) that grows until now: 62 s old.
    expect(within(row).getByRole('img', { name: 'Recovery point age of database: 6 points, latest 1 min 2 s' })).toBeInTheDocument();
    // The run started with "Run now" (not the schedule's last run) still marks the data class as running.
    expect(within(row).getByText('Running')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: 'Run now' })).toBeDisabled();
    expect(api.listReplicationRuns).toHaveBeenCalledWith(ENTITY_REF);

    const runs = screen.getByRole('table', { name: 'Replication runs' });
    expect(within(runs).getByText('Succeeded')).toBeInTheDocument();
    expect(within(runs).getAllByText('database')).toHaveLength(2);
    await userEvent.click(within(runs).getAllByRole('button', { name: 'Show log' })[1]);
    expect(await screen.findByText(/\[sync\] standby caught up/)).toBeInTheDocument();
    jest.restoreAllMocks();
  });

  it('draws the age of the newest copy as a sawtooth', () => {
    expect(recoveryPointAgeSeries([sample(1_000_000, 10), sample(1_300_000, 5)], 1_400_000)).toEqual([
      [1_000_000, 10],
      [1_300_000, 310],
      [1_300_000, 5],
      [1_400_000, 105],
    ]);
    expect(recoveryPointAgeSeries([], 5)).toEqual([]);
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
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Interval of database' }), '900');
    expect(api.updateSchedule).toHaveBeenCalledWith('s-db', { intervalSeconds: 900 });
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
    expect(screen.queryByRole('combobox', { name: 'Interval of database' })).not.toBeInTheDocument();
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
