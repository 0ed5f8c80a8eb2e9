import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { fediversityApiRef, FediversityUiApi, NodeCapacity, NodeStorageUsage } from '../../api';
import { apiError, fakeApi } from '../common/__testUtils__';
import { FediversityNodePicker, validateNodeChoice } from './FediversityNodePicker';
import { FediversityStoragePicker, validateStorageChoice } from './FediversityStoragePicker';

const GIB = 1024 ** 3;
const nodes: NodeCapacity[] = [
  { node: 'pve-a', status: 'online', cpu: 0.25, maxCpu: 8, memBytes: 12 * GIB, maxMemBytes: 16 * GIB },
  { node: 'pve-b', status: 'online', cpu: 0.05, maxCpu: 4, memBytes: 2 * GIB, maxMemBytes: 32 * GIB },
  { node: 'pve-c', status: 'offline', maxCpu: 4, maxMemBytes: 64 * GIB },
];
const storages: NodeStorageUsage[] = [
  { storage: 'local', type: 'dir', content: 'vztmpl,backup,iso', shared: false, active: true, totalBytes: 100 * GIB, availBytes: 90 * GIB },
  { storage: 'local-zfs', type: 'zfspool', content: 'rootdir,images', shared: false, active: true, totalBytes: 100 * GIB, availBytes: 40 * GIB },
  { storage: 'ceph', type: 'rbd', content: 'images,rootdir', shared: true, active: true, totalBytes: 1000 * GIB, availBytes: 600 * GIB },
  { storage: 'gone', type: 'dir', content: 'rootdir', shared: false, active: false, availBytes: 900 * GIB },
];

function fieldProps(overrides: Record<string, unknown> = {}) {
  return {
    formData: '',
    onChange: jest.fn(),
    schema: { type: 'string' },
    uiSchema: {},
    rawErrors: [],
    idSchema: { $id: 'root_field' },
    formContext: { formData: { memoryMiB: 4096, diskGiB: 32 } },
    ...overrides,
  } as any;
}

function render(element: JSX.Element, api: FediversityUiApi) {
  return renderInTestApp(element, { apis: [[fediversityApiRef, api]] });
}

const holder = (api: FediversityUiApi) => ({ get: (ref: unknown) => (ref === fediversityApiRef ? api : undefined) }) as any;

describe('FediversityNodePicker', () => {
  it('says it is loading while the cluster answers', async () => {
    const api = fakeApi({ listNodes: jest.fn(() => new Promise<never>(() => {})) });
    await render(<FediversityNodePicker {...fieldProps({ schema: { title: 'Node' } })} />, api);
    expect(await screen.findByText('Loading live data from the cluster…')).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Node' })).toBeDisabled();
  });

  it("lists the first cluster's online nodes, most free memory first, with load, and sets the choice", async () => {
    const api = fakeApi({ listNodes: jest.fn(async () => nodes) });
    const props = fieldProps({ schema: { title: 'Node' } });
    await render(<FediversityNodePicker {...props} />, api);
    const select = await screen.findByRole('combobox', { name: 'Node' });
    await waitFor(() => expect(select).toBeEnabled());
    expect(api.listNodes).toHaveBeenCalledWith('demo');
    expect(within(select).getAllByRole('option').map(option => option.textContent)).toEqual([
      'Automatic: the node with the most free memory',
      'pve-b — 30 GiB memory free of 32 GiB, CPU 5% of 4 cores',
      'pve-a — 4 GiB memory free of 16 GiB, CPU 25% of 8 cores',
    ]);
    expect(screen.getByText('Online nodes of cluster demo, most free memory first.')).toBeInTheDocument();
    await userEvent.selectOptions(select, 'pve-a');
    expect(props.onChange).toHaveBeenCalledWith('pve-a');
  });

  it('warns when the chosen node has less free memory than asked for, and marks the select invalid on form errors', async () => {
    const api = fakeApi({ listNodes: jest.fn(async () => nodes) });
    const props = fieldProps({
      formData: 'pve-a',
      formContext: { formData: { memoryMiB: 8192 } },
    });
    await render(<FediversityNodePicker {...props} />, api);
    expect(await screen.findByText('pve-a has 4 GiB memory free, less than the 8 GiB asked for')).toBeInTheDocument();
    expect(screen.getByRole('combobox')).toHaveAttribute('aria-invalid', 'true');
  });

  it('marks a fitting choice invalid only when the form reports an error for it', async () => {
    const api = fakeApi({ listNodes: jest.fn(async () => nodes) });
    const { unmount } = await render(<FediversityNodePicker {...fieldProps({ formData: 'pve-b' })} />, api);
    await waitFor(() => expect(screen.getByRole('combobox')).toBeEnabled());
    expect(screen.getByRole('combobox')).not.toHaveAttribute('aria-invalid');
    unmount();
    await render(<FediversityNodePicker {...fieldProps({ formData: 'pve-b', rawErrors: ['pve-b went offline'] })} />, api);
    await waitFor(() => expect(screen.getByRole('combobox')).toHaveAttribute('aria-invalid', 'true'));
  });

  it('keeps automatic placement usable when the live data cannot be read', async () => {
    const api = fakeApi({ listNodes: jest.fn(async () => Promise.reject(apiError(503, 'ServiceUnavailableError', 'cluster demo does not answer'))) });
    await render(<FediversityNodePicker {...fieldProps({ schema: { title: 'Node' } })} />, api);
    expect(await screen.findByText('Live data is not available')).toBeInTheDocument();
    expect(screen.getByText(/Could not list the nodes: cluster demo does not answer\. Automatic placement still works\./)).toBeInTheDocument();
    const select = screen.getByRole('combobox', { name: 'Node' });
    expect(within(select).getAllByRole('option')).toHaveLength(1);
  });

  it('validation refuses an unknown or offline node and one without room, and accepts automatic', async () => {
    const api = fakeApi({ listNodes: jest.fn(async () => nodes) });
    const errors = async (value: string, formData: Record<string, string | number> = {}) => {
      const addError = jest.fn();
      await validateNodeChoice(value, { addError } as any, { apiHolder: holder(api), formData, schema: {}, uiSchema: {} });
      return addError.mock.calls.map(call => call[0]);
    };
    expect(await errors('')).toEqual([]);
    expect(await errors('pve-b', { memoryMiB: 8192 })).toEqual([]);
    expect(await errors('pve-z')).toEqual(['pve-z is not a node of cluster demo']);
    expect(await errors('pve-c')).toEqual(['pve-c is offline, not online']);
    expect(await errors('pve-a', { memoryMiB: 8192 })).toEqual(['pve-a has 4 GiB memory free, less than the 8 GiB asked for']);
  });
});

describe('FediversityStoragePicker', () => {
  it('waits for a node to be chosen', async () => {
    const api = fakeApi();
    await render(<FediversityStoragePicker {...fieldProps({ schema: { title: 'Storage' } })} />, api);
    expect(await screen.findByText('Choose a node first to pick one of its storages.')).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Storage' })).toBeDisabled();
    expect(api.listNodeStorage).not.toHaveBeenCalled();
  });

  it("lists the chosen node's active storages that hold container disks, most free space first", async () => {
    const api = fakeApi({ listNodeStorage: jest.fn(async () => storages) });
    const props = fieldProps({ schema: { title: 'Storage' }, formContext: { formData: { node: 'pve-a', diskGiB: 32 } } });
    await render(<FediversityStoragePicker {...props} />, api);
    const select = await screen.findByRole('combobox', { name: 'Storage' });
    await waitFor(() => expect(within(select).getAllByRole('option')).toHaveLength(3));
    expect(api.listNodeStorage).toHaveBeenCalledWith({ cluster: 'demo', node: 'pve-a' });
    expect(within(select).getAllByRole('option').map(option => option.textContent)).toEqual([
      'Automatic: the storage with the most free space',
      'ceph — 600 GiB free of 1000 GiB (rbd, shared)',
      'local-zfs — 40 GiB free of 100 GiB (zfspool)',
    ]);
    await userEvent.selectOptions(select, 'local-zfs');
    expect(props.onChange).toHaveBeenCalledWith('local-zfs');
  });

  it('warns when the disk asked for does not fit the chosen storage', async () => {
    const api = fakeApi({ listNodeStorage: jest.fn(async () => storages) });
    const props = fieldProps({ formData: 'local-zfs', formContext: { formData: { node: 'pve-a', diskGiB: 64 } } });
    await render(<FediversityStoragePicker {...props} />, api);
    expect(await screen.findByText('local-zfs has 40 GiB free, less than the 64 GiB disk asked for')).toBeInTheDocument();
  });

  it('says when the storages cannot be read', async () => {
    const api = fakeApi({ listNodeStorage: jest.fn(async () => Promise.reject(apiError(404, 'NotFoundError', 'No node pve-q'))) });
    const props = fieldProps({ formContext: { formData: { node: 'pve-q' } } });
    await render(<FediversityStoragePicker {...props} />, api);
    expect(await screen.findByText(/Could not list the storages of pve-q: No node pve-q\./)).toBeInTheDocument();
  });

  it('validation checks the storage against the node and the disk size on the same page', async () => {
    const api = fakeApi({ listNodeStorage: jest.fn(async () => storages) });
    const errors = async (value: string, formData: Record<string, string | number>) => {
      const addError = jest.fn();
      await validateStorageChoice(value, { addError } as any, { apiHolder: holder(api), formData, schema: {}, uiSchema: {} });
      return addError.mock.calls.map(call => call[0]);
    };
    expect(await errors('', {})).toEqual([]);
    expect(await errors('local-zfs', { node: 'pve-a', diskGiB: 32 })).toEqual([]);
    expect(await errors('local-zfs', {})).toEqual(['Choose a node for local-zfs, or leave the storage on automatic']);
    expect(await errors('local', { node: 'pve-a', diskGiB: 8 })).toEqual(['local is not a storage of pve-a that holds container disks']);
    expect(await errors('gone', { node: 'pve-a', diskGiB: 8 })).toEqual(['gone is not a storage of pve-a that holds container disks']);
    expect(await errors('local-zfs', { node: 'pve-a', diskGiB: 64 })).toEqual(['local-zfs has 40 GiB free, less than the 64 GiB disk asked for']);
  });
});
