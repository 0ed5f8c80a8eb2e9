import { mockCredentials, mockErrorHandler, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult, DefinitivePolicyDecision } from '@backstage/plugin-permission-common';
import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import express from 'express';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { JobStore } from '../jobs/JobStore';
import { JobTestDatabases } from '../jobs/__testUtils__/databases';
import { DECOMMISSION_JOB_KIND, decommissionJobKind } from './decommissionJobKind';
import { createDecommissionRouter } from './decommissionRouter';
import { MIGRATION_JOB_KIND } from './migrationJobKind';

jest.setTimeout(30_000);

const OWNER = 'user:default/owner';
const STRANGER = 'user:default/stranger';
const ENTITY = 'component:default/social-instance';

const databases = new JobTestDatabases();
afterAll(() => databases.stop());

const migrationParams = {
  app: {
    name: 'social',
    dataClasses: [{ name: 'media', kind: 'directories', directories: ['/var/lib/app'], replication: 'rsync-quiesced', quiesce: [['systemctl', 'stop', 'app']], unquiesce: [['systemctl', 'start', 'app']] }],
  },
  source: { host: 'source.example', username: 'root', hostKey: 'SHA256:source-fingerprint', hostPublicKey: 'ssh-ed25519 AAAAsource', privateKey: { secretRef: 'k' } },
  target: { host: 'target.example', username: 'root', hostKey: 'SHA256:target-fingerprint', hostPublicKey: 'ssh-ed25519 AAAAtarget', privateKey: { secretRef: 'k' } },
  peer: { identityFile: '/root/.ssh/migration_ed25519' },
  sourceGuest: { cluster: 'lab', node: 'pve-a', vmid: 105 },
};

/** Owners may decommission; anyone else not (as the default policy decides with the catalog). */
const ownerOnly = mockServices.permissions.mock({
  authorize: async (requests, options): Promise<DefinitivePolicyDecision[]> => {
    const principal = options.credentials.principal as { type: string; userEntityRef?: string };
    expect(requests.map(r => (r as { permission: { name: string } }).permission.name)).toEqual(['fediversity.instance.decommission']);
    const allowed = principal.type === 'user' && principal.userEntityRef === OWNER;
    return requests.map(() => ({ result: allowed ? AuthorizeResult.ALLOW : AuthorizeResult.DENY }));
  },
});

async function setup() {
  const store = new JobStore(await databases.init('SQLITE_3'));
  const kind = decommissionJobKind({
    jobs: store,
    connect: async () => {
      throw new Error('no SSH in the route test');
    },
    clusters: new StaticPveClusters([]),
  });
  const app = express();
  app.use(createDecommissionRouter({ jobs: store, kind, httpAuth: mockServices.httpAuth(), permissions: ownerOnly, now: () => 1_000 }));
  app.use(mockErrorHandler());
  const migration = async (status: string, params: Record<string, unknown> = migrationParams) => {
    const { job } = await store.createJob(
      { id: randomUUID(), kind: MIGRATION_JOB_KIND, entityRef: ENTITY, params, steps: [{ name: 'observe' }], createdBy: OWNER },
      0,
    );
    await (store as any).db('fediversity_jobs').where({ id: job.id }).update({ status });
    return job.id;
  };
  const post = (jobId: string, user?: string) => {
    const call = request(app).post(`/migrations/${jobId}/decommission`);
    return user ? call.set('authorization', mockCredentials.user.header(user)) : call.set('authorization', mockCredentials.none.header());
  };
  return { store, migration, post };
}

describe('POST /migrations/:jobId/decommission', () => {
  it('starts a decommission of a completed migration for its owner, once', async () => {
    const { store, migration, post } = await setup();
    const id = await migration('succeeded');
    const response = await post(id, OWNER);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ kind: DECOMMISSION_JOB_KIND, status: 'queued' });
    expect(await store.getJob(response.body.jobId)).toMatchObject({
      entityRef: ENTITY,
      createdBy: OWNER,
      params: { migrationJobId: id, sourceGuest: migrationParams.sourceGuest, approvalTimeoutSeconds: 604_800 },
    });
    const again = await post(id, OWNER);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(`Decommission job ${response.body.jobId} of this migration is queued`);
  });

  it('refuses anonymous callers (401) and non-owners (403) before anything else', async () => {
    const { migration, post } = await setup();
    const id = await migration('succeeded');
    expect((await post(id)).status).toBe(401);
    expect((await post(randomUUID())).status).toBe(401);
    const stranger = await post(id, STRANGER);
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.message).toBe(`Not allowed: fediversity.instance.decommission on ${ENTITY}`);
  });

  it('answers 400 for a malformed id, 404 for an unknown migration, 409 for one that is not done or has no source', async () => {
    const { migration, post } = await setup();
    expect((await post('../jobs', OWNER)).status).toBe(404);
    expect((await post('not-a-uuid', OWNER)).status).toBe(400);
    expect((await post(randomUUID(), OWNER)).status).toBe(404);
    const running = await post(await migration('running'), OWNER);
    expect(running.status).toBe(409);
    expect(running.body.error.message).toBe('Cannot decommission: the migration has not completed (it is running)');
    const { sourceGuest: _, ...withoutSource } = migrationParams;
    const unrecorded = await post(await migration('succeeded', withoutSource), OWNER);
    expect(unrecorded.status).toBe(409);
    expect(unrecorded.body.error.message).toBe('Cannot decommission: the migration did not record its source guest');
  });
});
