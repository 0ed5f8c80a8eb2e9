import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { catalogApiRef, entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { JobSummary, ListJobsQuery } from '@fediversity/plugin-fediversity-common';
import { JobsPage } from './JobsPage';
import { apiError, fakeApi, instanceEntity, job } from '../common/__testUtils__';
import { FediversityUiApi, fediversityApiRef } from '../../api';

const forgejo = { ...instanceEntity, metadata: { ...instanceEntity.metadata, name: 'git-example-org' }, spec: { ...instanceEntity.spec, owner: 'group:default/dev-team' } };
const jobs: JobSummary[] = [
  job({ id: 'm-1', kind: 'instance.migrate', status: 'awaiting_approval', currentStep: 'approve-cutover' }),
  job({ id: 'r-1', kind: 'replication.run', status: 'failed', entityRef: 'component:default/git-example-org', error: { name: 'Error', message: 'ssh: connection refused' } }),
  job({ id: 'b-1', kind: 'backup.drill', status: 'succeeded' }),
];

function render(api: FediversityUiApi) {
  return renderInTestApp(<JobsPage />, {
    apis: [
      [fediversityApiRef, api],
      [catalogApiRef, catalogApiMock({ entities: [instanceEntity, forgejo] })],
    ],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
  });
}

describe('JobsPage', () => {
  it('lists jobs with links to their entities and owners, filters them, and opens a log', async () => {
    const api = fakeApi({
      listJobs: jest.fn(async (query: ListJobsQuery = {}) => ({
        items: jobs.filter(j => (!query.status || j.status === query.status) && (!query.kind || j.kind === query.kind)),
      })),
      listJobEvents: jest.fn(async () => ({ events: [{ jobId: 'r-1', seq: 1, ts: '2026-11-25T23:00:00Z', level: 'error' as const, message: 'rsync failed' }], lastSeq: 1, jobStatus: 'failed' as const })),
    });
    render(api);
    const table = await screen.findByRole('table', { name: 'Jobs' });
    expect(within(table).getAllByRole('row')).toHaveLength(4);
    expect(within(table).getByText('Needs approval')).toBeInTheDocument();
    expect(within(table).getAllByRole('link', { name: /social-example-org/ })[0]).toHaveAttribute('href', expect.stringContaining('/catalog/default/component/social-example-org'));
    expect(await within(table).findByRole('link', { name: /dev-team/ })).toBeInTheDocument();

    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Owner' }), 'group:default/dev-team');
    expect(within(screen.getByRole('table', { name: 'Jobs' })).getAllByRole('row')).toHaveLength(2);
    await userEvent.click(screen.getByRole('button', { name: 'Show log' }));
    expect(await screen.findByText(/ERROR rsync failed/)).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Owner' }), '');

    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Status' }), 'succeeded');
    expect(api.listJobs).toHaveBeenLastCalledWith({ status: 'succeeded', kind: undefined, limit: 500 });
    expect(await screen.findByText('backup.drill', { selector: 'td' })).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Status' }), '');

    await userEvent.type(screen.getByRole('searchbox'), 'nothing-like-this');
    expect(await screen.findByText('No jobs match these filters.')).toBeInTheDocument();
  });

  it('shows loading and backend errors', async () => {
    const loading = render(fakeApi({ listJobs: jest.fn(() => new Promise(() => {})) }));
    expect(await screen.findByText('Loading jobs…')).toBeInTheDocument();
    loading.unmount();
    render(fakeApi({ listJobs: jest.fn(async () => { throw apiError(401, 'AuthenticationError', 'Missing credentials'); }) }));
    expect(await screen.findByText('Could not load jobs')).toBeInTheDocument();
    expect(screen.getAllByText('Missing credentials').length).toBeGreaterThan(0);
  });
});
