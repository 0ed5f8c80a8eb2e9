import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Entity } from '@backstage/catalog-model';
import { JobDetails } from '@fediversity/plugin-fediversity-common';
import { MigrationCard } from './MigrationCard';
import { apiError, ENTITY_REF, FakeSignals, fakeApi, instanceNamed, job, renderWithEntity, step } from '../common/__testUtils__';

function resource(name: string, type: string, annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: { name, namespace: 'default', annotations },
    spec: { type, owner: 'group:default/platform' },
  };
}
const infrastructure = [
  resource('demo-pve-a', 'proxmox-node', { 'fediversity.eu/pve-cluster': 'demo', 'fediversity.eu/pve-node': 'pve-a' }),
  resource('demo-pve-b', 'proxmox-node', { 'fediversity.eu/pve-cluster': 'demo', 'fediversity.eu/pve-node': 'pve-b' }),
  resource('demo-pve-b-local-zfs', 'storage-pool', { 'fediversity.eu/pve-cluster': 'demo', 'fediversity.eu/pve-node': 'pve-b', 'fediversity.eu/pve-storage': 'local-zfs' }),
  resource('demo-pve-a-fast', 'storage-pool', { 'fediversity.eu/pve-cluster': 'demo', 'fediversity.eu/pve-node': 'pve-a', 'fediversity.eu/pve-storage': 'fast' }),
];

const migrationSteps = (statuses: JobDetails['steps'][number]['status'][]) =>
  [
    step(0, 'preflight', statuses[0]),
    step(1, 'initial-sync', statuses[1], { title: 'Initial sync' }),
    step(2, 'catch-up', statuses[2], { title: 'Catch up until the delta is small' }),
    step(3, 'approve-cutover', statuses[3], { title: 'Approve the cut-over (downtime starts)', approvalGate: true }),
    step(4, 'quiesce', statuses[4], { title: 'Quiesce the source app' }),
    step(5, 'cut-over', statuses[5], { title: 'Cut over', pointOfNoReturn: true }),
  ];

const catchUpEvent = {
  jobId: 'job-1',
  seq: 7,
  ts: '2026-11-25T23:05:00.000Z',
  level: 'info' as const,
  step: 'catch-up',
  message: 'Catch-up round 3',
  fields: { caughtUp: true, results: { files: { seconds: 1.2, caughtUp: true }, postgres: { seconds: 0, lagBytes: 2048, caughtUp: true } } },
};

function liveApi(current: JobDetails, extra: Parameters<typeof fakeApi>[0] = {}) {
  let delivered = false;
  return fakeApi({
    listJobs: jest.fn(async () => ({ items: [current] })),
    getJob: jest.fn(async () => current),
    listJobEvents: jest.fn(async () => {
      if (delivered) return new Promise<never>(() => {});
      delivered = true;
      return { events: [catchUpEvent], lastSeq: 7, jobStatus: current.status };
    }),
    ...extra,
  });
}

describe('MigrationCard', () => {
  it('lists migrations again when a job of the instance signals a change, and not for other entities', async () => {
    const signals = new FakeSignals();
    const api = fakeApi({ listJobs: jest.fn(async () => ({ items: [] })) });
    renderWithEntity(<MigrationCard pollMs={600_000} />, { api, signals, catalogEntities: infrastructure });
    expect(await screen.findByText('No earlier migrations.')).toBeInTheDocument();
    const before = api.listJobs.mock.calls.length;
    act(() => signals.push({ jobId: 'job-1', entityRef: 'component:default/someone-else', status: 'running', lastSeq: 1 }));
    act(() => signals.push({ jobId: 'job-9', entityRef: ENTITY_REF, status: 'succeeded', lastSeq: 12 }));
    // One refresh: the migrations and the decommissions of their sources.
    await waitFor(() => expect(api.listJobs).toHaveBeenCalledTimes(before + 2));
  });

  it('walks the wizard: target node and storage, preflight results, start, then shows the live view', async () => {
    const started = job({ id: 'job-9', status: 'queued', steps: migrationSteps(['pending', 'pending', 'pending', 'pending', 'pending', 'pending']) });
    const api = fakeApi({
      preflightMigration: jest.fn(async () => ({ ok: true, checks: [{ name: 'free space', ok: true, message: '40 GiB free, 3 GiB needed' }] })),
      startMigration: jest.fn(async () => ({ jobId: 'job-9', kind: 'instance.migrate', status: 'queued' })),
      getJob: jest.fn(async () => started),
    });
    renderWithEntity(<MigrationCard />, { api, catalogEntities: infrastructure });

    expect(await screen.findByText('No earlier migrations.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Migrate…' }));
    const node = await screen.findByRole('combobox', { name: 'Target node' });
    expect(within(node).queryByRole('option', { name: /pve-a/ })).not.toBeInTheDocument();
    await userEvent.selectOptions(node, 'demo/pve-b');
    const storage = screen.getByRole('combobox', { name: 'Target storage' });
    expect(within(storage).queryByRole('option', { name: 'fast' })).not.toBeInTheDocument();
    await userEvent.selectOptions(storage, 'local-zfs');
    expect(screen.getByRole('button', { name: 'Start migration' })).toBeDisabled();

    await userEvent.click(screen.getByRole('button', { name: 'Run preflight checks' }));
    expect(await screen.findByText('✓ free space: 40 GiB free, 3 GiB needed')).toBeInTheDocument();
    expect(api.preflightMigration).toHaveBeenCalledWith(ENTITY_REF, { cluster: 'demo', node: 'pve-b', storage: 'local-zfs' });

    await userEvent.click(screen.getByRole('button', { name: 'Start migration' }));
    expect(api.startMigration).toHaveBeenCalledWith(ENTITY_REF, { cluster: 'demo', node: 'pve-b', storage: 'local-zfs' });
    expect(await screen.findByText('Migration job-9')).toBeInTheDocument();
    expect(screen.getByRole('listitem', { name: 'Step Initial sync' })).toHaveTextContent('pending');
  });

  it('says where the migration goes, and where the instance runs once it succeeded', async () => {
    const provision = { cluster: 'demo', node: 'pve-b', storage: 'local-zfs', vmid: 120 };
    const running = job({ params: { provision }, steps: migrationSteps(['succeeded', 'running', 'pending', 'pending', 'pending', 'pending']) });
    const { unmount } = await renderWithEntity(<MigrationCard />, { api: liveApi(running) });
    expect(await screen.findByText('To guest 120 on pve-b (cluster demo), storage local-zfs')).toBeInTheDocument();
    unmount();
    const done = job({ status: 'succeeded', params: { provision }, steps: migrationSteps(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']) });
    renderWithEntity(<MigrationCard />, { api: liveApi(done) });
    await userEvent.click(await screen.findByRole('button', { name: 'Details' }));
    expect(await screen.findByText('The instance now runs as guest 120 on pve-b (cluster demo), storage local-zfs.')).toBeInTheDocument();
  });

  it('keeps Start disabled after a failed preflight and shows why', async () => {
    const api = fakeApi({
      preflightMigration: jest.fn(async () => ({ ok: false, checks: [{ name: 'free space', ok: false, message: '1 GiB free, 3 GiB needed' }] })),
    });
    renderWithEntity(<MigrationCard />, { api, catalogEntities: infrastructure });
    await userEvent.click(await screen.findByRole('button', { name: 'Migrate…' }));
    await userEvent.selectOptions(await screen.findByRole('combobox', { name: 'Target node' }), 'demo/pve-b');
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Target storage' }), 'local-zfs');
    await userEvent.click(screen.getByRole('button', { name: 'Run preflight checks' }));
    expect(await screen.findByText('✗ free space: 1 GiB free, 3 GiB needed')).toBeInTheDocument();
    expect(screen.getByText('Preflight failed')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Start migration' })).toBeDisabled();
  });

  it('shows a running migration with step progress and the streamed event log, cancellable before the point of no return', async () => {
    const running = job({
      steps: migrationSteps(['succeeded', 'running', 'pending', 'pending', 'pending', 'pending']),
      progress: { stepsDone: 1, stepsTotal: 6, current: { step: 'initial-sync', done: 40, total: 100, message: '1.2 GiB of 3 GiB' } },
    });
    const api = liveApi(running, { cancelJob: jest.fn(async () => ({ ...running, cancelRequested: true })) });
    renderWithEntity(<MigrationCard />, { api });

    expect(await screen.findByText('1 of 6 steps done')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Progress of initial-sync' })).toHaveAttribute('value', '40');
    expect(screen.getByText(/1.2 GiB of 3 GiB/)).toBeInTheDocument();
    expect(await screen.findByLabelText('Migration event log')).toHaveTextContent('[catch-up] Catch-up round 3');
    expect(screen.getByRole('listitem', { name: 'Step Cut over' })).toHaveTextContent('point of no return');

    await userEvent.click(screen.getByRole('button', { name: 'Cancel and roll back' }));
    expect(api.cancelJob).toHaveBeenCalledWith('job-1', { reason: 'cancelled from the portal' });
    expect(await screen.findByText('Cancelling')).toBeInTheDocument();
  });

  it('asks for approval at the cut-over, showing what follows and the measured lag, and approves', async () => {
    const waiting = job({ status: 'awaiting_approval', steps: migrationSteps(['succeeded', 'succeeded', 'succeeded', 'waiting_approval', 'pending', 'pending']), progress: { stepsDone: 3, stepsTotal: 6 } });
    const approved = { ...waiting, status: 'queued' as const, steps: migrationSteps(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'pending', 'pending']) };
    const api = liveApi(waiting, { approveJob: jest.fn(async () => approved) });
    renderWithEntity(<MigrationCard />, { api });

    const panel = await screen.findByRole('region', { name: 'Approval' });
    expect(within(panel).getByText(/Cut over — point of no return/)).toBeInTheDocument();
    expect(await within(panel).findByText(/postgres: last pass 0 s, 2.0 KiB behind, caught up/)).toBeInTheDocument();
    await userEvent.type(within(panel).getByRole('textbox'), 'quiet hour');
    await userEvent.click(within(panel).getByRole('button', { name: 'Approve the cut-over' }));
    expect(api.approveJob).toHaveBeenCalledWith('job-1', { step: 'approve-cutover', comment: 'quiet hour' });
    expect(await screen.findByText('Queued')).toBeInTheDocument();
    expect(screen.queryByRole('region', { name: 'Approval' })).not.toBeInTheDocument();
  });

  it('offers neither approval nor cancel to people who are not owners', async () => {
    const waiting = job({ status: 'awaiting_approval', steps: migrationSteps(['succeeded', 'succeeded', 'succeeded', 'waiting_approval', 'pending', 'pending']) });
    renderWithEntity(<MigrationCard />, { api: liveApi(waiting), allow: false, entity: instanceNamed('denied-migration') });
    expect(await screen.findByText("Only the instance's owners can approve this step.")).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Approve the cut-over' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Cancel and roll back' })).not.toBeInTheDocument();
  });

  it('shows a failed migration with its error and offers a retry; a refused retry is explained', async () => {
    const failed = job({
      status: 'failed',
      error: { name: 'Error', message: 'rsync exited with 23' },
      steps: migrationSteps(['succeeded', 'compensated', 'failed', 'pending', 'pending', 'pending']),
    });
    const api = liveApi(failed, { retryJob: jest.fn(async () => { throw apiError(409, 'ConflictError', 'job job-1 is not failed'); }) });
    renderWithEntity(<MigrationCard />, { api });
    expect(await screen.findByText('The migration failed')).toBeInTheDocument();
    expect(screen.getAllByText('rsync exited with 23').length).toBeGreaterThan(0);
    expect(screen.getByRole('listitem', { name: 'Step Initial sync' })).toHaveTextContent('rolled back');
    expect(screen.queryByRole('button', { name: 'Cancel and roll back' })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Retry from the failed step' }));
    expect(await screen.findByText('Not possible in the current state: job job-1 is not failed')).toBeInTheDocument();
  });

  it('shows loading and error states, and the history of finished migrations', async () => {
    const loading = renderWithEntity(<MigrationCard />, { api: fakeApi({ listJobs: jest.fn(() => new Promise(() => {})) }) });
    expect(await screen.findByText('Loading migrations…')).toBeInTheDocument();
    loading.unmount();

    const failing = renderWithEntity(<MigrationCard />, {
      api: fakeApi({ listJobs: jest.fn(async () => { throw apiError(401, 'AuthenticationError', 'Missing credentials'); }) }),
    });
    expect(await screen.findByText('Could not load migrations')).toBeInTheDocument();
    expect(screen.getByText('Missing credentials')).toBeInTheDocument();
    failing.unmount();

    const done = job({ id: 'job-old', status: 'succeeded', finishedAt: '2026-11-24T10:00:00.000Z' });
    renderWithEntity(<MigrationCard />, { api: fakeApi({ listJobs: jest.fn(async () => ({ items: [done] })) }) });
    const history = await screen.findByRole('table', { name: 'Migration history' });
    expect(within(history).getByText('Succeeded')).toBeInTheDocument();
    expect(within(history).getByText('2026-11-24 10:00:00 UTC')).toBeInTheDocument();
  });

  describe('decommissioning the old guest of a completed migration', () => {
    const migrated = job({ id: 'job-old', status: 'succeeded', finishedAt: '2026-11-24T10:00:00.000Z' });
    const sourceGuest = { cluster: 'demo', node: 'pve-a', vmid: 101 };
    const decommissionSteps = (statuses: JobDetails['steps'][number]['status'][]) => [
      step(0, 'check', statuses[0], { title: 'Check what will be destroyed' }),
      step(1, 'approve-destroy', statuses[1], { title: 'Approve destroying the source guest', approvalGate: true }),
      step(2, 'destroy-source', statuses[2], { title: 'Destroy the source guest', pointOfNoReturn: true }),
    ];
    const decommission = (overrides: Partial<JobDetails>) =>
      job({ id: 'job-d1', kind: 'instance.decommission', params: { migrationJobId: 'job-old', sourceGuest }, ...overrides });
    /** The backend's answers by kind: the listing filters on it, the details carry the params. */
    function api(decommissions: JobDetails[], extra: Parameters<typeof fakeApi>[0] = {}) {
      return fakeApi({
        listJobs: jest.fn(async ({ kind } = {}) => ({ items: kind === 'instance.decommission' ? decommissions : [migrated] })),
        getJob: jest.fn(async (id: string) => decommissions.find(d => d.id === id) ?? migrated),
        listJobEvents: jest.fn(() => new Promise<never>(() => {})),
        ...extra,
      });
    }

    it('starts it for an owner after saying what it destroys, then shows the job with its own approval', async () => {
      const decommissions: JobDetails[] = [];
      const waiting = decommission({ status: 'awaiting_approval', steps: decommissionSteps(['succeeded', 'waiting_approval', 'pending']) });
      const fake = api(decommissions, {
        decommissionSource: jest.fn(async () => {
          decommissions.push(waiting);
          return { jobId: 'job-d1', kind: 'instance.decommission', status: 'queued' };
        }),
      });
      renderWithEntity(<MigrationCard />, { api: fake });
      await userEvent.click(await screen.findByRole('button', { name: 'Decommission old guest…' }));
      const confirm = screen.getByRole('region', { name: 'Decommission the old guest' });
      expect(confirm).toHaveTextContent('stops and destroys the guest the instance ran on before this migration');
      await userEvent.click(within(confirm).getByRole('button', { name: 'Start decommission' }));
      expect(fake.decommissionSource).toHaveBeenCalledWith('job-old');

      expect(await screen.findByText('Decommission job-d1')).toBeInTheDocument();
      expect(screen.getByText('Destroys guest 101 on pve-a (cluster demo)')).toBeInTheDocument();
      const panel = await screen.findByRole('region', { name: 'Approval' });
      expect(panel).toHaveTextContent('Approving destroys the old guest and its disks; there is no undo.');
      expect(panel).toHaveTextContent('Destroy the source guest — point of no return');
      expect(panel).not.toHaveTextContent('Measured lag');
      expect(within(panel).getByRole('button', { name: 'Approve the destruction' })).toBeInTheDocument();
    });

    it('is not offered again once a decommission of that migration succeeded, nor to people who are not owners', async () => {
      const done = decommission({ status: 'succeeded', createdAt: '2026-11-26T09:00:00.000Z', finishedAt: '2026-11-26T09:05:00.000Z' });
      const { unmount } = await renderWithEntity(<MigrationCard />, { api: api([done]) });
      const history = await screen.findByRole('table', { name: 'Migration history' });
      expect(within(history).getByText('Decommission of guest 101 on pve-a (cluster demo)')).toBeInTheDocument();
      expect(within(history).queryByRole('button', { name: 'Decommission old guest…' })).not.toBeInTheDocument();
      unmount();

      renderWithEntity(<MigrationCard />, { api: api([]), allow: false, entity: instanceNamed('not-mine') });
      expect(await screen.findByRole('table', { name: 'Migration history' })).toBeInTheDocument();
      expect(screen.queryByRole('button', { name: 'Decommission old guest…' })).not.toBeInTheDocument();
    });

    it("explains a refusal and keeps the old guest when asked to", async () => {
      const fake = api([], { decommissionSource: jest.fn(async () => { throw apiError(409, 'ConflictError', 'Cannot decommission: the migration recorded no source guest'); }) });
      renderWithEntity(<MigrationCard />, { api: fake });
      await userEvent.click(await screen.findByRole('button', { name: 'Decommission old guest…' }));
      await userEvent.click(screen.getByRole('button', { name: 'Start decommission' }));
      expect(await screen.findByText('Could not start the decommission')).toBeInTheDocument();
      expect(screen.getByText(/the migration recorded no source guest/)).toBeInTheDocument();
      await userEvent.click(screen.getByRole('button', { name: 'Keep the old guest' }));
      expect(screen.queryByRole('region', { name: 'Decommission the old guest' })).not.toBeInTheDocument();
    });
  });
});
