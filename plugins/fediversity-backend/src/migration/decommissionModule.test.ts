import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { staticPveClustersServiceFactory } from '@fediversity/plugin-fediversity-node';
import request from 'supertest';
import { fediversityPlugin } from '../plugin';
import { closingDatabaseServiceFactory } from '../testUtils';
import { fediversityModuleMigration } from './module';

jest.setTimeout(60_000);

/** The migration module's wiring: the plugin starts with it, and the decommission kind and route are there. */
it('registers instance.decommission and mounts POST /migrations/:jobId/decommission', async () => {
  const { server } = await startTestBackend({
    features: [
      fediversityPlugin,
      fediversityModuleMigration,
      closingDatabaseServiceFactory,
      staticPveClustersServiceFactory([]),
      mockServices.rootConfig.factory({ data: { fediversity: { allowInMemoryDatabase: true } } }),
    ],
  });
  const kinds = await request(server).get('/api/fediversity/job-kinds').set('authorization', mockCredentials.user.header());
  expect(kinds.body.items.find((kind: { kind: string }) => kind.kind === 'instance.decommission')).toMatchObject({
    steps: [
      { name: 'check' },
      { name: 'approve-destroy', approvalGate: true },
      { name: 'drop-replication' },
      { name: 'stop-source' },
      { name: 'destroy-source', pointOfNoReturn: true },
      { name: 'record' },
    ],
  });
  const path = '/api/fediversity/migrations/00000000-0000-4000-8000-000000000000/decommission';
  expect((await request(server).post(path).set('authorization', mockCredentials.none.header())).status).toBe(401);
  expect((await request(server).post(path).set('authorization', mockCredentials.user.header())).status).toBe(404);
});
