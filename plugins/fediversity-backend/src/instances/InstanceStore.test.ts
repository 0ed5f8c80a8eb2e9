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

  it('finds an instance by its entity name, and nothing for another name', async () => {
    const store = await newStore();
    const { instance } = await store.create(mastodonRequest, 'user:default/alice');
    expect(await store.findByName(instance.name)).toEqual(instance);
    expect(await store.findByName(`${instance.name}-other`)).toBeUndefined();
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

  it('relocates an instance to another guest; the same placement again changes nothing', async () => {
    let now = Date.parse('2026-11-25T22:00:00Z');
    const knex = await databases.init('SQLITE_3');
    await applyInstanceMigrations(knex);
    const store = new InstanceStore(knex, () => now);
    const { instance } = await store.create(mastodonRequest, 'user:default/alice');
    const ssh = {
      host: '127.0.0.1',
      port: 2222,
      username: 'ct-120',
      hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf0xL9p9b0oTQ6jS5pfbMrQzJbJ2m8J5yG0cQqQqQqQ',
      hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`,
      trust: 'demo' as const,
    };
    const placement = { cluster: 'demo', node: 'pve-b', vmid: 120, storage: 'local-zfs', storageShared: false, ssh };
    now += 60_000;
    const moved = await store.relocate(instance.id, placement);
    expect(moved).toMatchObject({
      ...placement,
      guestRef: 'resource:default/demo-ct-120',
      storageRef: 'resource:default/demo-pve-b-local-zfs',
      domain: instance.domain,
      createdAt: instance.createdAt,
      updatedAt: '2026-11-25T22:01:00.000Z',
    });
    expect(await store.get(instance.id)).toEqual(moved);
    now += 60_000;
    expect(await store.relocate(instance.id, placement)).toEqual(moved);
    await expect(store.relocate('nope', placement)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('throws NotFoundError for an unknown id', async () => {
    const store = await newStore();
    await expect(store.get('nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});
