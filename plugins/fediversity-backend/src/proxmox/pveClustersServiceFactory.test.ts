import { mockServices, ServiceFactoryTester } from '@backstage/backend-test-utils';
import { PveClient } from '@fediversity/plugin-fediversity-node';
import { startEmbeddedSimulator } from './embeddedSimulator';
import { createPveClustersServiceFactory } from './pveClustersServiceFactory';

jest.setTimeout(60_000);

const secret = 'c0ffee00-1111-4222-8333-444455556666';
const fingerprint = Array.from({ length: 32 }, () => 'AB').join(':');
const cluster = (name: string) => ({
  name,
  url: `https://${name}.example.org:8006`,
  tokenId: 'portal@pve!catalog',
  tokenSecret: secret,
  fingerprint,
});

function setup(data: object) {
  const simulator = {
    cluster: { name: 'demo', demo: true, client: {} as PveClient },
    url: 'https://127.0.0.1:1',
    close: jest.fn(async () => {}),
  };
  const startSimulator = jest.fn(async () => simulator);
  const lifecycle = mockServices.rootLifecycle.mock();
  const logger = mockServices.rootLogger.mock();
  const tester = ServiceFactoryTester.from(createPveClustersServiceFactory({ startSimulator }), {
    dependencies: [mockServices.rootConfig.factory({ data }), lifecycle.factory, logger.factory],
  });
  return { tester, simulator, startSimulator, lifecycle, logger };
}

describe('pveClustersServiceFactory', () => {
  it('connects to the configured clusters and never starts the simulator', async () => {
    const { tester, startSimulator, logger } = setup({
      fediversity: { proxmox: { clusters: [cluster('prod'), cluster('backup')] } },
    });
    const clusters = await tester.getSubject();
    expect(clusters.list().map(c => [c.name, c.demo])).toEqual([
      ['prod', false],
      ['backup', false],
    ]);
    expect(clusters.get('prod').client).toBeInstanceOf(PveClient);
    expect(() => clusters.get('nope')).toThrow(/No Proxmox cluster named nope/);
    expect(startSimulator).not.toHaveBeenCalled();
    expect(JSON.stringify(logger.info.mock.calls)).not.toContain(secret);
  });

  it('starts the embedded simulator without configuration and stops it on shutdown', async () => {
    const { tester, simulator, startSimulator, lifecycle } = setup({});
    const clusters = await tester.getSubject();
    expect(startSimulator).toHaveBeenCalledTimes(1);
    expect(clusters.list()).toEqual([simulator.cluster]);
    expect(lifecycle.addShutdownHook).toHaveBeenCalledTimes(1);
    await lifecycle.addShutdownHook.mock.calls[0][0]();
    expect(simulator.close).toHaveBeenCalled();
  });

  it('refuses a broken configuration instead of silently falling back to the simulator', async () => {
    const { tester, startSimulator } = setup({
      fediversity: { proxmox: { clusters: [{ ...cluster('prod'), fingerprint: undefined }] } },
    });
    await expect(tester.getSubject()).rejects.toThrow(/caPem or fingerprint/);
    expect(startSimulator).not.toHaveBeenCalled();
  });
});

describe('startEmbeddedSimulator', () => {
  it('serves the demo topology on loopback through the pinned HTTPS client', async () => {
    const simulator = await startEmbeddedSimulator();
    try {
      expect(new URL(simulator.url)).toMatchObject({ protocol: 'https:', hostname: '127.0.0.1' });
      expect(simulator.cluster).toMatchObject({ name: 'demo', demo: true });
      const nodes = await simulator.cluster.client.listNodes();
      expect(nodes.map(n => n.node).sort()).toEqual(['pve-a', 'pve-b', 'pve-c']);
    } finally {
      await simulator.close();
    }
  });
});
