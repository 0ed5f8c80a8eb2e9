import { screen, within } from '@testing-library/react';
import { InstanceOverviewCard } from './InstanceOverviewCard';
import { apiError, fakeApi, instanceEntity, renderWithEntity } from '../common/__testUtils__';

describe('InstanceOverviewCard', () => {
  it('shows placement, links and the live guest status from Proxmox', async () => {
    const api = fakeApi({
      getGuestStatus: jest.fn(async () => ({
        status: 'running',
        uptimeSeconds: 3725,
        cpu: 0.125,
        cpus: 2,
        memBytes: 512 * 1024 ** 2,
        maxMemBytes: 2 * 1024 ** 3,
        diskBytes: 3 * 1024 ** 3,
        maxDiskBytes: 16 * 1024 ** 3,
      })),
    });
    renderWithEntity(<InstanceOverviewCard />, { api });

    const live = await screen.findByRole('region', { name: 'Live status' });
    expect(await within(live).findByText('running')).toBeInTheDocument();
    expect(within(live).getByText('CPU 12.5 % of 2')).toBeInTheDocument();
    expect(within(live).getByText('Memory 512.0 MiB / 2.0 GiB')).toBeInTheDocument();
    expect(within(live).getByText('Up 1 h 2 min')).toBeInTheDocument();
    expect(api.getGuestStatus).toHaveBeenCalledWith({ cluster: 'demo', node: 'pve-a', vmid: 105 });

    expect(screen.getByText('pve-a (cluster demo)')).toBeInTheDocument();
    expect(screen.getByText('local-zfs')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'social.example.org' })).toHaveAttribute('href', 'https://social.example.org/');
    expect(within(screen.getByRole('region', { name: 'Monitoring' })).getByRole('link', { name: 'Grafana dashboard' })).toBeInTheDocument();
    expect(within(screen.getByRole('region', { name: 'Core services' })).getByRole('link', { name: /dns/ })).toBeInTheDocument();
    expect(screen.getByText(/path:\/var\/lib\/fediversity\/flake#social/)).toBeInTheDocument();
  });

  it('shows a loading state while Proxmox answers', async () => {
    renderWithEntity(<InstanceOverviewCard />, { api: fakeApi() });
    expect(await screen.findByText("Loading the guest's status…")).toBeInTheDocument();
  });

  it('shows the backend error when the status cannot be read', async () => {
    const api = fakeApi({ getGuestStatus: jest.fn(async () => { throw apiError(404, 'NotFoundError', 'No guest 105 on pve-a'); }) });
    renderWithEntity(<InstanceOverviewCard />, { api });
    expect(await screen.findByText("Could not read the guest's status from Proxmox")).toBeInTheDocument();
    expect(screen.getByText('No guest 105 on pve-a')).toBeInTheDocument();
  });

  it('says so when the entity names no guest, and asks nothing', async () => {
    const api = fakeApi();
    const bare = { ...instanceEntity, metadata: { name: 'website', namespace: 'default' }, spec: { type: 'service', owner: 'x' } };
    renderWithEntity(<InstanceOverviewCard />, { api, entity: bare });
    expect(await screen.findByText('This entity names no Proxmox guest.')).toBeInTheDocument();
    expect(screen.getByText('Uses no core services.')).toBeInTheDocument();
    expect(api.getGuestStatus).not.toHaveBeenCalled();
  });
});
