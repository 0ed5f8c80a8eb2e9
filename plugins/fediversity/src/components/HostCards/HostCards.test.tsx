import { screen, within } from '@testing-library/react';
import { Entity } from '@backstage/catalog-model';
import { NodeGuestsCard, StorageUsageCard } from './HostCards';
import { apiError, fakeApi, instanceEntity, renderWithEntity } from '../common/__testUtils__';

const res = (name: string, type: string, annotations: Record<string, string>, description?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: { name, namespace: 'default', annotations: { 'fediversity.eu/pve-cluster': 'demo', ...annotations }, description },
  spec: { type, owner: 'group:default/platform' },
});
const nodeA = res('demo-pve-a', 'proxmox-node', { 'fediversity.eu/pve-node': 'pve-a' });
const guest = res('demo-ct-105', 'lxc-container', { 'fediversity.eu/pve-node': 'pve-a', 'fediversity.eu/vmid': '105', 'fediversity.eu/pve-storage': 'local-zfs' }, 'Container 105 on pve-a, running');
const otherGuest = res('demo-ct-200', 'lxc-container', { 'fediversity.eu/pve-node': 'pve-b', 'fediversity.eu/vmid': '200' });
const pool = res('demo-pve-a-local-zfs', 'storage-pool', { 'fediversity.eu/pve-node': 'pve-a', 'fediversity.eu/pve-storage': 'local-zfs' });

describe('host and storage cards', () => {
  it('lists the guests on a node with the instance in each', async () => {
    renderWithEntity(<NodeGuestsCard />, { api: fakeApi(), entity: nodeA, catalogEntities: [nodeA, guest, otherGuest, instanceEntity] });
    const table = await screen.findByRole('table', { name: 'Guests on pve-a' });
    expect(within(table).getAllByRole('row')).toHaveLength(2);
    expect(within(table).getByRole('link', { name: /demo-ct-105/ })).toBeInTheDocument();
    expect(within(table).getByRole('link', { name: /social/ })).toBeInTheDocument();
    expect(within(table).getByText('running')).toBeInTheDocument();
  });

  it('says when a node has no guests', async () => {
    renderWithEntity(<NodeGuestsCard />, { api: fakeApi(), entity: nodeA, catalogEntities: [nodeA] });
    expect(await screen.findByText('No guests on pve-a.')).toBeInTheDocument();
  });

  it("shows a storage pool's usage and the instances on it", async () => {
    const api = fakeApi({
      listNodeStorage: jest.fn(async () => [
        { storage: 'local-zfs', type: 'zfspool', shared: false, totalBytes: 100 * 1024 ** 3, usedBytes: 25 * 1024 ** 3 },
        { storage: 'local', type: 'dir', shared: false, totalBytes: 10, usedBytes: 1 },
      ]),
    });
    renderWithEntity(<StorageUsageCard />, { api, entity: pool, catalogEntities: [pool, instanceEntity] });
    expect(await screen.findByText('local-zfs (zfspool): 25.0 GiB of 100.0 GiB used')).toBeInTheDocument();
    expect(screen.queryByText(/^local \(dir\)/)).not.toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Usage of local-zfs' })).toBeInTheDocument();
    expect(await within(screen.getByRole('region', { name: 'Instances on this storage' })).findByRole('link', { name: /social/ })).toBeInTheDocument();
    expect(api.listNodeStorage).toHaveBeenCalledWith({ cluster: 'demo', node: 'pve-a' });
  });

  it('shows loading and Proxmox errors', async () => {
    const loading = renderWithEntity(<StorageUsageCard />, { api: fakeApi({ listNodeStorage: jest.fn(() => new Promise(() => {})) }), entity: nodeA });
    expect(await screen.findByText('Loading storage usage…')).toBeInTheDocument();
    loading.unmount();
    renderWithEntity(<StorageUsageCard />, { api: fakeApi({ listNodeStorage: jest.fn(async () => { throw apiError(502, 'Error', 'pve-a is offline'); }) }), entity: nodeA });
    expect(await screen.findByText('pve-a is offline')).toBeInTheDocument();
  });
});
