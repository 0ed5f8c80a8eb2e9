import { mockCredentials, mockErrorHandler, mockServices } from '@backstage/backend-test-utils';
import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import express from 'express';
import request from 'supertest';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { createGuestsRouter } from './guestsRouter';

jest.setTimeout(60_000);

describe('guests router against the PVE simulator', () => {
  let simulator: PveSimulator;
  let close: () => void;
  let app: express.Express;

  beforeAll(async () => {
    simulator = await startPveSimulator({
      authFailureDelayMs: 0,
      topology: {
        cluster: 'lab',
        storages: [{ id: 'local-zfs', type: 'zfspool', content: ['rootdir', 'images'], total: '100G', used: '25G' }],
        nodes: [{ name: 'pve-a' }, { name: 'pve-b' }],
        guests: [{ vmid: 105, node: 'pve-a', hostname: 'social', status: 'running', memory: 2048, rootfs: 'local-zfs:8', tags: 'secret-tag' }],
      },
    });
    const sim = simulatorCluster(simulator, 'lab');
    close = sim.close;
    app = express();
    app.use(createGuestsRouter({ clusters: new StaticPveClusters([sim.cluster]), httpAuth: mockServices.httpAuth() }));
    app.use(mockErrorHandler());
  });

  afterAll(async () => {
    close?.();
    await simulator?.close();
  });

  it("answers a guest's live status with allow-listed fields only", async () => {
    const response = await request(app).get('/guests/lab/pve-a/105/status');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'running', maxMemBytes: 2048 * 1024 * 1024 });
    expect(typeof response.body.uptimeSeconds).toBe('number');
    expect(JSON.stringify(response.body)).not.toContain('secret-tag');
    for (const key of Object.keys(response.body)) {
      expect(['status', 'uptimeSeconds', 'cpu', 'cpus', 'memBytes', 'maxMemBytes', 'diskBytes', 'maxDiskBytes', 'lock']).toContain(key);
    }
  });

  it("answers a node's storage usage", async () => {
    const response = await request(app).get('/nodes/lab/pve-b/storage');
    expect(response.status).toBe(200);
    const zfs = response.body.items.find((s: { storage: string }) => s.storage === 'local-zfs');
    expect(zfs).toMatchObject({ type: 'zfspool', totalBytes: 100 * 1024 ** 3, usedBytes: expect.any(Number) });
  });

  it('lists the clusters, and the nodes of one with load and memory (allow-listed fields)', async () => {
    const clustersAnswer = await request(app).get('/clusters');
    expect(clustersAnswer.status).toBe(200);
    expect(clustersAnswer.body.items).toEqual([{ name: 'lab', demo: expect.any(Boolean) }]);

    const response = await request(app).get('/nodes/lab');
    expect(response.status).toBe(200);
    expect(response.body.items.map((n: { node: string }) => n.node).sort()).toEqual(['pve-a', 'pve-b']);
    for (const node of response.body.items) {
      expect(node).toMatchObject({ status: 'online', maxCpu: expect.any(Number), maxMemBytes: expect.any(Number), memBytes: expect.any(Number) });
      for (const key of Object.keys(node)) expect(['node', 'status', 'cpu', 'maxCpu', 'memBytes', 'maxMemBytes']).toContain(key);
    }
    expect((await request(app).get('/nodes/Not_A_Cluster')).status).toBe(400);
    expect((await request(app).get('/nodes/nowhere')).status).toBe(404);
  });

  it('refuses malformed input, unknown clusters and missing guests, and unauthenticated callers', async () => {
    expect((await request(app).get('/guests/lab/pve-a/12/status')).status).toBe(400);
    expect((await request(app).get('/guests/lab/bad%20node/105/status')).status).toBe(400);
    expect((await request(app).get('/guests/nowhere/pve-a/105/status')).status).toBe(404);
    expect((await request(app).get('/guests/lab/pve-a/999/status')).status).toBeGreaterThanOrEqual(400);
    const anonymous = await request(app)
      .get('/guests/lab/pve-a/105/status')
      .set('authorization', mockCredentials.none.header());
    expect(anonymous.status).toBe(401);
  });
});
