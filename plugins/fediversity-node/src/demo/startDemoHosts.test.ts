import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshConnection } from '../ssh/SshConnection';
import { startDemoHosts } from './startDemoHosts';

// Real servers on a shared 2-core machine: allow for load, not for hangs.
jest.setTimeout(30_000);

describe('startDemoHosts', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fediversity-demo-hosts-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps port, host key and client key across restarts, so recorded endpoints stay valid', async () => {
    const first = await startDemoHosts({ dataDir });
    const endpoint = await first.server.ensureGuest('ct-100', { hostname: 'social', ipv4: '10.0.0.100' });
    const clientKey = first.clientKey;
    await first.stop();

    const second = await startDemoHosts({ dataDir });
    try {
      expect(second.server.port).toBe(endpoint.port);
      expect(second.clientKey).toEqual(clientKey);
      const connection = await SshConnection.connect({ ...endpoint, privateKey: second.clientKey.privateKey });
      expect((await connection.run(['hostname'])).stdout).toBe('social\n');
      connection.close();
    } finally {
      await second.stop();
    }
  });
});
