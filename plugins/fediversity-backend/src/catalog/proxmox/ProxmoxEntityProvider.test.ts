import { mockServices } from '@backstage/backend-test-utils';
import { SchedulerServiceTaskInvocationDefinition } from '@backstage/backend-plugin-api';
import { EntityProviderConnection } from '@backstage/plugin-catalog-node';
import { generateTopology, PveSimulator, startPveSimulator, TopologySpec } from '@fediversity/pve-simulator';
import { simulatorCluster } from '../../proxmox/__testUtils__/simulatorCluster';
import { ProxmoxEntityProvider } from './ProxmoxEntityProvider';

function fakeConnection() {
  const applyMutation = jest.fn<Promise<void>, Parameters<EntityProviderConnection['applyMutation']>>(
    async () => {},
  );
  return { applyMutation, refresh: jest.fn() } as EntityProviderConnection & {
    applyMutation: typeof applyMutation;
  };
}

/** A task runner that runs the task once, immediately, as the scheduler would on its first tick. */
function immediateRunner() {
  return { run: async (task: SchedulerServiceTaskInvocationDefinition) => task.fn(new AbortController().signal) };
}

jest.setTimeout(60_000);

describe('ProxmoxEntityProvider against the simulator', () => {
  const simulators: PveSimulator[] = [];
  const closers: Array<() => void> = [];
  const start = async (topology?: TopologySpec) => {
    const simulator = await startPveSimulator({ topology, authFailureDelayMs: 0 });
    simulators.push(simulator);
    return simulator;
  };
  afterAll(async () => {
    closers.forEach(close => close());
    await Promise.all(simulators.map(s => s.close()));
  });

  it('emits the demo cluster with relations and owners as one full mutation', async () => {
    const { cluster, close } = simulatorCluster(await start(), 'demo', true);
    closers.push(close);
    const connection = fakeConnection();
    const provider = ProxmoxEntityProvider.create({
      cluster,
      logger: mockServices.logger.mock(),
      taskRunner: immediateRunner(),
    });
    expect(provider.getProviderName()).toBe('fediversity-proxmox:demo');
    await provider.connect(connection);

    expect(connection.applyMutation).toHaveBeenCalledTimes(1);
    const mutation = connection.applyMutation.mock.calls[0][0];
    expect(mutation.type).toBe('full');
    const entities = mutation.type === 'full' ? mutation.entities.map(d => d.entity) : [];
    const names = entities.map(e => e.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'demo',
        'demo-pve-a',
        'demo-pve-b',
        'demo-pve-c',
        'demo-pve-a-local',
        'demo-pve-c-local-zfs',
        'demo-ct-101',
        'demo-ct-103',
        'demo-ct-110',
      ]),
    );
    const ct103 = entities.find(e => e.metadata.name === 'demo-ct-103')!;
    expect(ct103.spec).toMatchObject({
      type: 'lxc-container',
      owner: 'group:default/operators',
      dependsOn: ['resource:default/demo-pve-c', 'resource:default/demo-pve-c-local-zfs'],
    });
    expect(ct103.metadata.annotations).toMatchObject({
      'fediversity.eu/vmid': '103',
      'fediversity.eu/pve-node': 'pve-c',
      'fediversity.eu/pve-storage': 'local-zfs',
      'fediversity.eu/demo': 'true',
    });
    expect(mutation.type === 'full' && mutation.entities.every(d => d.locationKey === 'fediversity-proxmox:demo')).toBe(
      true,
    );
  });

  it('uses the same number of API calls for 10 and 500 guests', async () => {
    const calls = async (guests: number) => {
      const { cluster, counter, close } = simulatorCluster(
        await start(generateTopology({ nodes: 4, guests })),
        'bench',
      );
      closers.push(close);
      const connection = fakeConnection();
      const provider = ProxmoxEntityProvider.create({
        cluster,
        logger: mockServices.logger.mock(),
        taskRunner: immediateRunner(),
      });
      await provider.connect(connection);
      const mutation = connection.applyMutation.mock.calls[0][0];
      expect(mutation.type === 'full' && mutation.entities.length).toBe(1 + 4 + 8 + guests);
      return counter.calls;
    };
    const small = await calls(10);
    expect(await calls(500)).toBe(small);
    // /cluster/resources plus one volume listing per guest-capable storage (2 per node).
    expect(small).toBe(1 + 4 * 2);
  });

  it('logs a failed refresh instead of throwing, and keeps the previous entities', async () => {
    const simulator = await start();
    const { cluster, close } = simulatorCluster(simulator, 'demo', true);
    closers.push(close);
    simulator.faults.addRequestFault({ method: 'GET', path: '/cluster/resources', status: 500, message: 'boom', count: 1 });
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const connection = fakeConnection();
    const provider = ProxmoxEntityProvider.create({ cluster, logger, taskRunner: immediateRunner() });
    await expect(provider.connect(connection)).resolves.toBeUndefined();
    expect(connection.applyMutation).not.toHaveBeenCalled();
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('Refreshing Proxmox cluster demo failed'),
      expect.objectContaining({ message: expect.stringContaining('boom') }),
    );
  });

  it('keeps going without storage relations when one storage cannot be listed', async () => {
    const simulator = await start();
    const { cluster, close } = simulatorCluster(simulator, 'demo', true);
    closers.push(close);
    simulator.faults.addRequestFault({ path: '/nodes/pve-c/storage/local-zfs/content', status: 500, count: 10 });
    const logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
    const connection = fakeConnection();
    const provider = ProxmoxEntityProvider.create({ cluster, logger, taskRunner: immediateRunner() });
    await provider.connect(connection);
    const mutation = connection.applyMutation.mock.calls[0][0];
    const ct103 = mutation.type === 'full' ? mutation.entities.find(d => d.entity.metadata.name === 'demo-ct-103') : undefined;
    expect(ct103?.entity.spec?.dependsOn).toEqual(['resource:default/demo-pve-c']);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('storage local-zfs on node pve-c'));
  });
});
