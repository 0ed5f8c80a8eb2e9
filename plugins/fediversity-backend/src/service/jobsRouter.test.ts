import { coreServices, createBackendModule, SchedulerService } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { AuthorizeResult, DefinitivePolicyDecision } from '@backstage/plugin-permission-common';
import { JobDetails } from '@fediversity/plugin-fediversity-common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { PermanentJobError } from '../jobs/errors';
import { fediversityJobKindsExtensionPoint } from '../jobs/extensionPoint';
import { JobKind } from '../jobs/types';
import { fediversityPlugin } from '../plugin';
import { closingDatabaseServiceFactory } from '../testUtils';

jest.setTimeout(60_000);

const OWNER = 'user:default/owner';
const STRANGER = 'user:default/stranger';
const ENTITY = 'component:default/mastodon';
/** Values a step resolves from a secret store; none may appear in any response or event. */
const PLANTED_SECRETS = ['hunter2-planted-password', 'AKIA-planted-s3-key-0042'];

let gateFailuresLeft = 1;
const testKinds: JobKind<any>[] = [
  {
    kind: 'test.gate',
    steps: [
      { name: 'prepare', run: async ctx => ctx.log('prepared') },
      { name: 'approve', approvalGate: true },
      {
        name: 'apply',
        run: async () => {
          if (gateFailuresLeft-- > 0) throw new PermanentJobError('target refused the change');
          return 'applied';
        },
      },
    ],
  },
  {
    kind: 'test.secret',
    steps: [
      {
        name: 'use-secret',
        run: async ctx => {
          // As a real step would: resolve the referenced secret, then (carelessly) mention it everywhere.
          const [password, accessKey] = PLANTED_SECRETS;
          ctx.registerSecret(password);
          ctx.registerSecret(accessKey);
          await ctx.log(`connecting with password ${password}`, { accessKey, password });
          await ctx.progress({ message: `using ${accessKey}` });
          await ctx.saveCheckpoint({ token: accessKey });
          throw new PermanentJobError(`login failed for ${password} / ${accessKey}`);
        },
      },
    ],
  },
];

let pluginScheduler: SchedulerService | undefined;
const testKindsModule = createBackendModule({
  pluginId: 'fediversity',
  moduleId: 'test-kinds',
  register(reg) {
    reg.registerInit({
      deps: { kinds: fediversityJobKindsExtensionPoint, scheduler: coreServices.scheduler },
      async init({ kinds, scheduler }) {
        kinds.addJobKind(...testKinds);
        pluginScheduler = scheduler;
      },
    });
  },
});

/** Owners may do everything; anyone else nothing (as the default policy decides with the catalog). */
const ownerOnlyPermissions = mockServices.permissions.mock({
  authorize: async (requests, options): Promise<DefinitivePolicyDecision[]> => {
    const principal = options.credentials.principal as { type: string; userEntityRef?: string };
    const allowed = principal.type === 'user' && principal.userEntityRef === OWNER;
    return requests.map(() => ({ result: allowed ? AuthorizeResult.ALLOW : AuthorizeResult.DENY }));
  },
});

const responses: string[] = [];
let server: any;
let backend: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  backend = await startTestBackend({
    features: [
      fediversityPlugin,
      testKindsModule,
      ownerOnlyPermissions.factory,
      closingDatabaseServiceFactory,
      mockServices.rootConfig.factory({
        data: { fediversity: { allowInMemoryDatabase: true, jobs: { tickSeconds: 1 } } },
      }),
    ],
  });
  server = backend.server;
});

afterAll(() => backend?.stop());


type Method = 'get' | 'post';
async function call(method: Method, path: string, auth: string, body?: object) {
  const req = request(server)[method](`/api/fediversity${path}`).set('Authorization', auth);
  const res = body ? await req.send(body) : await req;
  responses.push(res.text);
  return res;
}
const owner = mockCredentials.user.header(OWNER);
const stranger = mockCredentials.user.header(STRANGER);
const nobody = mockCredentials.none.header();

async function createJob(kind: string, params: object = {}): Promise<JobDetails> {
  const res = await call('post', '/jobs', owner, { kind, entityRef: ENTITY, params });
  expect(res.status).toBe(201);
  return res.body;
}

async function waitFor(id: string, done: (job: JobDetails) => boolean): Promise<JobDetails> {
  for (let i = 0; i < 200; i++) {
    const res = await call('get', `/jobs/${id}`, owner);
    if (done(res.body)) return res.body;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error(`Job ${id} did not reach the expected state`);
}

const ROUTES = [
  ['get', '/job-kinds'],
  ['get', '/jobs'],
  ['post', '/jobs'],
  ['get', '/jobs/:id'],
  ['get', '/jobs/:id/events'],
  ['get', '/jobs/:id/eventstream'],
  ['post', '/jobs/:id/cancel'],
  ['post', '/jobs/:id/approve'],
  ['post', '/jobs/:id/retry'],
] as const;

it('documents exactly the routes it serves (openapi.yaml)', () => {
  const spec = parseYaml(readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8'));
  const documented = Object.entries(spec.paths).flatMap(([path, operations]) =>
    Object.keys(operations as object)
      .filter(key => key !== 'parameters')
      .map(method => `${method} ${path.replace('{id}', ':id')}`),
  );
  const jobRoutes = documented.filter(route => /^\w+ \/jobs?(-kinds)?(\/|$)/.test(route));
  expect(jobRoutes.sort()).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
});

describe('job API', () => {
  let finishedJob: JobDetails;

  beforeAll(async () => {
    const job = await createJob('demo.echo', { message: 'hi' });
    finishedJob = await waitFor(job.id, j => j.status === 'succeeded');
  });

  describe.each(ROUTES)('%s %s', (method, route) => {
    const path = () => route.replace(':id', finishedJob.id);
    const body = () => {
      if (route === '/jobs') return { kind: 'demo.echo', entityRef: ENTITY, params: {} };
      return method === 'post' ? {} : undefined;
    };

    it('rejects unauthenticated requests', async () => {
      const res = await call(method, path(), nobody, body());
      expect(res.status).toBe(401);
    });

    // Listing is filtered rather than refused (see below); everything else is per entity.
    if (method === 'post' || route.startsWith('/jobs/')) {
      it('rejects users who do not own the entity', async () => {
        const res = await call(method, path(), stranger, body());
        expect(res.status).toBe(403);
        expect(res.body.error.name).toBe('NotAllowedError');
      });
    }
  });

  it('lists only the jobs of entities the caller may read', async () => {
    const mine = await call('get', '/jobs', owner);
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((job: JobDetails) => job.id)).toContain(finishedJob.id);
    const theirs = await call('get', '/jobs', stranger);
    expect(theirs.status).toBe(200);
    expect(theirs.body.items).toEqual([]);
    expect((await call('get', `/jobs?entityRef=${ENTITY}`, stranger)).status).toBe(403);
    const filtered = await call('get', `/jobs?entityRef=${ENTITY}&status=succeeded&kind=demo.echo`, owner);
    expect(filtered.body.items.map((job: JobDetails) => job.id)).toContain(finishedJob.id);
    expect((await call('get', '/jobs?status=bogus', owner)).status).toBe(400);
  });

  it('uses the scheduler only as a local ticker and a global janitor', async () => {
    const scheduled = await pluginScheduler!.getScheduledTasks();
    const tasks = Object.fromEntries(scheduled.map(task => [task.id, task.scope]));
    expect(tasks).toEqual({ 'fediversity-jobs-tick': 'local', 'fediversity-jobs-janitor': 'global' });
  });

  it('lists the job kinds', async () => {
    const res = await call('get', '/job-kinds', stranger);
    expect(res.status).toBe(200);
    expect(res.body.items.map((kind: { kind: string }) => kind.kind)).toEqual(
      expect.arrayContaining(['demo.echo', 'demo.approval', 'test.gate']),
    );
  });

  it('creates a job (idempotently with a key) and validates the body', async () => {
    const body = { kind: 'demo.echo', entityRef: 'Component:default/mastodon', params: {}, idempotencyKey: 'k-1' };
    const first = await call('post', '/jobs', owner, body);
    const again = await call('post', '/jobs', owner, body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ kind: 'demo.echo', entityRef: ENTITY, createdBy: OWNER });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await call('post', '/jobs', owner, { kind: 'demo.echo' })).status).toBe(400);
    expect((await call('post', '/jobs', owner, { kind: 'nope', entityRef: ENTITY })).status).toBe(400);
    expect((await call('post', '/jobs', owner, { kind: 'demo.echo', entityRef: 'not a ref!' })).status).toBe(400);
    expect(
      (await call('post', '/jobs', owner, { kind: 'demo.echo', entityRef: ENTITY, params: { sleepSeconds: -1 } }))
        .status,
    ).toBe(400);
  });

  it('gets a job with its steps and progress, and its events by long-poll and SSE', async () => {
    const res = await call('get', `/jobs/${finishedJob.id}`, owner);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'succeeded',
      progress: { stepsDone: 2, stepsTotal: 2 },
      steps: [
        { name: 'echo', status: 'succeeded' },
        { name: 'wait', status: 'succeeded' },
      ],
    });
    expect((await call('get', '/jobs/no-such-job', owner)).status).toBe(404);

    const events = await call('get', `/jobs/${finishedJob.id}/events?after=0`, owner);
    expect(events.status).toBe(200);
    expect(events.body.events.map((event: { message: string }) => event.message)).toEqual(
      expect.arrayContaining([`Job created by ${OWNER}`, 'hi', 'Job succeeded']),
    );
    const after = await call('get', `/jobs/${finishedJob.id}/events?after=${events.body.lastSeq}&wait=1`, owner);
    expect(after.body).toMatchObject({ events: [], lastSeq: events.body.lastSeq, jobStatus: 'succeeded' });

    const sse = await call('get', `/jobs/${finishedJob.id}/eventstream?after=2`, owner);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/text\/event-stream/);
    expect(sse.text).toMatch(/^id: 3\nevent: log\ndata: /);
    expect(sse.text).toContain('event: end\ndata: {"jobStatus":"succeeded"}');
  });

  it('long-polls until new events arrive', async () => {
    const job = await createJob('demo.approval');
    await waitFor(job.id, j => j.status === 'awaiting_approval');
    const { body: before } = await call('get', `/jobs/${job.id}/events`, owner);
    const poll = call('get', `/jobs/${job.id}/events?after=${before.lastSeq}&wait=10`, owner);
    await new Promise(resolve => setTimeout(resolve, 300));
    await call('post', `/jobs/${job.id}/approve`, owner, { comment: 'go' });
    const { body } = await poll;
    expect(body.events[0]).toMatchObject({ seq: before.lastSeq + 1, message: `Approved by ${OWNER}` });
  });

  it('cancels a running job, stopping its step', async () => {
    const job = await createJob('demo.echo', { sleepSeconds: 600 });
    await waitFor(job.id, j => j.currentStep === 'wait');
    const res = await call('post', `/jobs/${job.id}/cancel`, owner, { reason: 'changed my mind' });
    expect(res.status).toBe(200);
    expect(res.body.cancelRequested).toBe(true);
    const cancelled = await waitFor(job.id, j => j.status === 'cancelled');
    expect(cancelled.steps[1]).toMatchObject({ status: 'failed', error: { name: 'JobCancelledError' } });
    expect((await call('post', `/jobs/${job.id}/cancel`, owner, {})).status).toBe(409);
  });

  it('approves (recording who and why) and retries a failed job', async () => {
    const job = await createJob('test.gate');
    await waitFor(job.id, j => j.status === 'awaiting_approval');
    expect((await call('post', `/jobs/${job.id}/retry`, owner, {})).status).toBe(409);
    expect((await call('post', `/jobs/${job.id}/approve`, owner, { step: 'prepare' })).status).toBe(409);
    const approved = await call('post', `/jobs/${job.id}/approve`, owner, { comment: 'maintenance window' });
    expect(approved.status).toBe(200);
    expect(approved.body.steps[1].approval).toMatchObject({ approvedBy: OWNER, comment: 'maintenance window' });
    expect((await call('post', `/jobs/${job.id}/approve`, owner, {})).status).toBe(409);

    const failed = await waitFor(job.id, j => j.status === 'failed');
    expect(failed.error).toEqual({ name: 'PermanentJobError', message: 'target refused the change' });
    const retried = await call('post', `/jobs/${job.id}/retry`, owner, {});
    expect(retried.status).toBe(200);
    await waitFor(job.id, j => j.status === 'succeeded');
  });

  it('refuses secret values in params and keeps resolved secrets out of every response', async () => {
    const refused = await call('post', '/jobs', owner, {
      kind: 'test.secret',
      entityRef: ENTITY,
      params: { target: { password: PLANTED_SECRETS[0] } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/params\.target\.password/);

    const job = await createJob('test.secret', { target: { password: { secretRef: 'mastodon-db' } } });
    const failed = await waitFor(job.id, j => j.status === 'failed');
    expect(failed.params).toEqual({ target: { password: { secretRef: 'mastodon-db' } } });
    await call('get', `/jobs/${job.id}/events`, owner);
    await call('get', `/jobs/${job.id}/eventstream`, owner);
    await call('get', '/jobs', owner);

    const everything = responses.join('\n');
    expect(everything).toContain('[REDACTED]');
    for (const secret of PLANTED_SECRETS) expect(everything).not.toContain(secret);
  });
});

