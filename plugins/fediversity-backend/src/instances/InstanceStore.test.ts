import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, NotFoundError } from '@backstage/errors';
import { InstanceStore } from './InstanceStore';
import { applyInstanceMigrations } from './migrations';
import { mastodonRequest } from './testFixtures';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

async function newStore() {
  const knex = await databases.init('SQLITE_3');
  await applyInstanceMigrations(knex);
  // Twice: a restarted backend must find its schema in place.
  await applyInstanceMigrations(knex);
  return new InstanceStore(knex, () => Date.parse('2026-11-25T22:00:00Z'));
}

describe('InstanceStore', () => {
  it('records an instance with the catalog refs of its guest and storage', async () => {
    const store = await newStore();
    const { instance, created } = await store.create(mastodonRequest, 'user:default/alice');
    expect(created).toBe(true);
    expect(instance).toMatchObject({
      name: 'mastodon-social-example-org',
      guestRef: 'resource:default/demo-ct-104',
      storageRef: 'resource:default/demo-pve-a-local-zfs',
      createdBy: 'user:default/alice',
      createdAt: '2026-11-25T22:00:00.000Z',
    });
    expect(instance).not.toHaveProperty('idempotencyKey');
    expect(await store.get(instance.id)).toEqual(instance);
    expect(await store.list({ owner: 'group:default/social-team' })).toEqual([instance]);
    expect(await store.list({ owner: 'group:default/platform-team' })).toEqual([]);
  });

  it('names shared storages once per cluster', async () => {
    const store = await newStore();
    const { instance } = await store.create({ ...mastodonRequest, storage: 'ceph', storageShared: true }, 'x');
    expect(instance.storageRef).toBe('resource:default/demo-ceph');
  });

  it('returns the first instance for a repeated idempotency key', async () => {
    const store = await newStore();
    const first = await store.create(mastodonRequest, 'user:default/alice');
    const again = await store.create(mastodonRequest, 'user:default/alice');
    expect(again).toEqual({ instance: first.instance, created: false });
    expect(await store.list()).toHaveLength(1);
  });

  it('refuses a second instance on the same domain or with the same name', async () => {
    const store = await newStore();
    await store.create(mastodonRequest, 'a');
    await expect(
      store.create({ ...mastodonRequest, idempotencyKey: 'other', name: 'another-name' }, 'a'),
    ).rejects.toThrow(new ConflictError('The domain social.example.org is already served by instance mastodon-social-example-org'));
    await expect(
      store.create({ ...mastodonRequest, idempotencyKey: 'other', domain: 'other.example.org' }, 'a'),
    ).rejects.toThrow(/already exists/);
  });

  it('throws NotFoundError for an unknown id', async () => {
    const store = await newStore();
    await expect(store.get('nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});
