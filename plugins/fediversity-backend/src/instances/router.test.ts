import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { TestDatabases } from '@backstage/backend-test-utils';
import express from 'express';
import request from 'supertest';
import { InstanceStore } from './InstanceStore';
import { applyInstanceMigrations } from './migrations';
import { createInstancesRouter } from './router';
import { mastodonRequest } from './testFixtures';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const publish = jest.fn(async () => {});

async function app() {
  const knex = await databases.init('SQLITE_3');
  await applyInstanceMigrations(knex);
  const router = createInstancesRouter({
    store: new InstanceStore(knex),
    events: { publish },
    httpAuth: mockServices.httpAuth({ pluginId: 'fediversity' }),
    auth: mockServices.auth({ pluginId: 'fediversity' }),
    userInfo: mockServices.userInfo({
      userEntityRef: 'user:default/mock',
      ownershipEntityRefs: ['user:default/mock', 'group:default/social-team'],
    }),
    logger: mockServices.logger.mock(),
    config: mockServices.rootConfig(),
  });
  return express().use(router);
}

describe('instances router', () => {
  it('lets a member of the owning group record an instance, idempotently', async () => {
    const server = await app();
    const first = await request(server).post('/instances').send(mastodonRequest);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'mastodon-social-example-org', createdBy: 'user:default/mock', formerGuests: [] });
    const again = await request(server).post('/instances').send(mastodonRequest);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // Announced once, for the catalog provider: a repeated request records nothing new.
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish).toHaveBeenCalledWith({
      topic: 'fediversity.instances',
      eventPayload: { id: first.body.id, name: 'mastodon-social-example-org' },
    });

    const list = await request(server).get('/instances');
    expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([first.body.id]);
    const one = await request(server).get(`/instances/${first.body.id}`);
    expect(one.body.domain).toBe('social.example.org');
  });

  it('refuses an owner the user does not belong to', async () => {
    const server = await app();
    const response = await request(server)
      .post('/instances')
      .send({ ...mastodonRequest, owner: 'group:default/platform-team' });
    expect(response.status).toBe(403);
    expect(response.body.error.message).toMatch(/may not record an instance owned by group:default\/platform-team/);
  });

  it('lets a backend service record for any owner', async () => {
    const server = await app();
    const response = await request(server)
      .post('/instances')
      .set('Authorization', mockCredentials.service.header({ onBehalfOf: mockCredentials.service('plugin:scaffolder'), targetPluginId: 'fediversity' }))
      .send({ ...mastodonRequest, owner: 'group:default/platform-team' });
    expect(response.status).toBe(201);
    expect(response.body.createdBy).toBe('plugin:scaffolder');
  });

  it('names every invalid field and refuses unauthenticated callers', async () => {
    const server = await app();
    const invalid = await request(server)
      .post('/instances')
      .send({ ...mastodonRequest, domain: 'Not A Domain', vmid: 5, extra: 1 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toMatch(/domain: must be a lower-case DNS name/);
    expect(invalid.body.error.message).toMatch(/vmid/);
    expect(invalid.body.error.message).toMatch(/Unrecognized key/);

    const anonymous = await request(server)
      .get('/instances')
      .set('Authorization', mockCredentials.none.header());
    expect(anonymous.status).toBe(401);
  });
});
