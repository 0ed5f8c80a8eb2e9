import { ensureContainer, EnsureContainerInput } from './ensureContainer';
import { PveClient } from './PveClient';
import { PveError } from './PveError';
import { RecordingTransport } from './__testUtils__/RecordingTransport';
import type { WireRequest } from './__testUtils__/pveApidoc';

const UPID = 'UPID:pve-a:00000001:00000002:00000003:vzcreate:150:root@pam!t:';

function clientAnswering(answer: (request: WireRequest) => unknown) {
  const transport = new RecordingTransport(request => {
    const data = answer(request);
    if (data instanceof Error) throw data;
    return { data };
  });
  return { client: new PveClient({ transport }), transport };
}

const input = (overrides: Partial<EnsureContainerInput> = {}): EnsureContainerInput => ({
  node: 'pve-a',
  identityTags: ['fediversity', 'inst-abc'],
  params: { ostemplate: 'local:vztmpl/nixos.tar.xz' },
  onVmidAllocated: async () => {},
  onTaskStarted: async () => {},
  ...overrides,
});

const alreadyExists = (vmid: string) =>
  new PveError({ method: 'POST', path: '/nodes/pve-a/lxc', status: 500, message: `CT ${vmid} already exists on node 'pve-a'` });

describe('ensureContainer', () => {
  it('refuses to guess when several guests carry the identity', async () => {
    const { client } = clientAnswering(() => [
      { id: 'lxc/150', type: 'lxc', vmid: 150, node: 'pve-a', tags: 'fediversity;inst-abc' },
      { id: 'lxc/151', type: 'lxc', vmid: 151, node: 'pve-b', tags: 'inst-abc;fediversity' },
    ]);
    await expect(ensureContainer(client, input())).rejects.toThrow(/Several guests.*150, 151/);
  });

  it('reports a create lock without a running create task instead of creating again', async () => {
    const { client, transport } = clientAnswering(request =>
      request.path === '/cluster/resources'
        ? [{ id: 'lxc/150', type: 'lxc', vmid: 150, node: 'pve-a', lock: 'create' }]
        : [{ upid: UPID, node: 'pve-a', type: 'vzcreate', user: 'root@pam', starttime: 1, endtime: 2, status: 'crashed' }],
    );
    await expect(ensureContainer(client, input({ known: { vmid: 150 } }))).rejects.toThrow(/locked for creation/);
    expect(transport.requests.some(r => r.method === 'POST')).toBe(false);
  });

  it('leaves an existing guest alone', async () => {
    const { client, transport } = clientAnswering(() => [
      { id: 'lxc/150', type: 'lxc', vmid: '150', node: 'pve-a', tags: 'fediversity;inst-abc' },
    ]);
    await expect(ensureContainer(client, input())).resolves.toEqual({ outcome: 'exists', vmid: 150, node: 'pve-a' });
    expect(transport.requests).toHaveLength(1);
  });

  it('probes past an id it lost and gives up after its attempts', async () => {
    const allocated: number[] = [];
    const { client } = clientAnswering(request => {
      if (request.path === '/cluster/resources') return [];
      if (request.path === '/cluster/nextid') return request.params.vmid?.[0] ?? '200';
      return alreadyExists(request.params.vmid[0]);
    });
    await expect(
      ensureContainer(client, input({ maxAllocationAttempts: 3, onVmidAllocated: async v => void allocated.push(v) })),
    ).rejects.toThrow(/after 3 attempts/);
    expect(allocated).toEqual([200, 201, 202]);
  });

  it('does not treat other failures as a lost race', async () => {
    const { client, transport } = clientAnswering(request => {
      if (request.path === '/cluster/resources') return [];
      if (request.path === '/cluster/nextid') return '200';
      return new PveError({ method: 'POST', path: request.path, status: 0, code: 'ECONNRESET', message: 'socket hang up' });
    });
    await expect(ensureContainer(client, input())).rejects.toThrow(/socket hang up/);
    expect(transport.requests.filter(r => r.method === 'POST')).toHaveLength(1);
  });
});
