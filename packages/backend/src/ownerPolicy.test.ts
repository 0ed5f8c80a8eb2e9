import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import fediversityPlugin, { permissionModuleFediversityPolicy } from '@fediversity/plugin-fediversity-backend';
import { closingDatabaseServiceFactory } from '@fediversity/plugin-fediversity-backend/testUtils';

/**
 * The portal's default permission policy end to end: the real permission backend with our policy module,
 * the real catalog deciding IS_ENTITY_OWNER from the entity's owner, and the fediversity job API.
 */

jest.setTimeout(120_000);

const OWNER = 'user:default/owner';
const STRANGER = 'user:default/stranger';
const ENTITY = 'component:default/mastodon';

/**
 * The mock HttpAuthService turns an on-behalf-of token back into plain user credentials, but real ones
 * carry the calling plugin as actor, and the catalog's apply-conditions endpoint (where IS_ENTITY_OWNER is
 * evaluated for the permission backend) refuses user credentials without one. This restores the actor.
 */
const httpAuthWithActors = createServiceFactory({
  service: coreServices.httpAuth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const inner = mockServices.httpAuth({ pluginId: plugin.getId() });
    return {
      async credentials(req: any, options?: any) {
        const credentials: any = await inner.credentials(req, options);
        const onBehalfOf = String(req.headers.authorization ?? '').startsWith('Bearer mock-service-token:');
        if (onBehalfOf && credentials.principal.type === 'user' && !credentials.principal.actor) {
          return mockCredentials.user(credentials.principal.userEntityRef, { actor: { subject: 'plugin' } });
        }
        return credentials;
      },
      issueUserCookie: (res: any, options?: any) => inner.issueUserCookie(res, options),
    } as any;
  },
});

const dir = mkdtempSync(join(tmpdir(), 'fediversity-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('lets only the owners of an entity run and see its jobs', async () => {
  writeFileSync(
    join(dir, 'catalog.yaml'),
    [
      'apiVersion: backstage.io/v1alpha1',
      'kind: Component',
      'metadata: { name: mastodon }',
      `spec: { type: service, lifecycle: production, owner: ${OWNER} }`,
    ].join('\n'),
  );
  const backend = await startTestBackend({
    features: [
      catalogPlugin,
      permissionPlugin,
      permissionModuleFediversityPolicy,
      fediversityPlugin,
      httpAuthWithActors,
      closingDatabaseServiceFactory,
      mockServices.rootConfig.factory({
        data: {
          permission: { enabled: true },
          catalog: {
            rules: [{ allow: ['Component', 'Location'] }],
            locations: [{ type: 'file', target: join(dir, 'catalog.yaml') }],
          },
          fediversity: { allowInMemoryDatabase: true },
        },
      }),
    ],
  });
  try {
    const api = (method: 'get' | 'post', path: string, user: string) =>
      request(backend.server)[method](path).set('Authorization', mockCredentials.user.header(user));

    // Wait for the catalog to ingest the entity (asked as a service: the mock auth cannot make the
    // on-behalf-of tokens the catalog's own conditional permission requests need).
    for (let i = 0; ; i++) {
      const res = await request(backend.server)
        .get('/api/catalog/entities/by-name/component/default/mastodon')
        .set('Authorization', mockCredentials.service.header());
      if (res.status === 200 && res.body.relations?.length) break;
      if (i > 200) throw new Error(`entity not ingested: ${res.status} ${res.text}`);
      await new Promise(resolve => setTimeout(resolve, 250));
    }

    const body = { kind: 'demo.echo', entityRef: ENTITY, params: { message: 'hi' } };
    const denied = await api('post', '/api/fediversity/jobs', STRANGER).send(body);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toEqual({ name: 'NotAllowedError', message: `Not allowed: fediversity.job.create on ${ENTITY}` });
    const created = await api('post', '/api/fediversity/jobs', OWNER).send(body);
    expect(created.status).toBe(201);

    expect((await api('get', `/api/fediversity/jobs/${created.body.id}`, OWNER)).status).toBe(200);
    expect((await api('get', `/api/fediversity/jobs/${created.body.id}`, STRANGER)).status).toBe(403);
    expect((await api('get', '/api/fediversity/jobs', STRANGER)).body.items).toEqual([]);
    expect((await api('get', '/api/fediversity/jobs', OWNER)).body.items.map((j: any) => j.id)).toEqual([
      created.body.id,
    ]);
    // A job on an entity the catalog does not know is refused too.
    const unknown = await api('post', '/api/fediversity/jobs', OWNER).send({ ...body, entityRef: 'component:default/nope' });
    expect(unknown.status).toBe(403);
  } finally {
    await backend.stop();
  }
});
