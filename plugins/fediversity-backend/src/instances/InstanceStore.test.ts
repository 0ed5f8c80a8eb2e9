import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, NotFoundError } from '@backstage/errors';
import { InstanceStore } from './InstanceStore';
import { applyInstanceMigrations } from './migrations';
import { MAX_FORMER_GUESTS } from './types';
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

  describe('former guests', () => {
    const at = (minute: number) => Date.parse('2026-11-25T22:00:00Z') + minute * 60_000;
    const placementOf = (vmid: number, node = 'pve-b', cluster = 'demo') => ({ cluster, node, vmid, storage: 'local-zfs', storageShared: false });

    async function movingStore() {
      const clock = { now: at(0) };
      const knex = await databases.init('SQLITE_3');
      await applyInstanceMigrations(knex);
      const store = new InstanceStore(knex, () => clock.now);
      const { instance } = await store.create(mastodonRequest, 'user:default/alice');
      const moveTo = (placement: ReturnType<typeof placementOf>, minute: number) => {
        clock.now = at(minute);
        return store.relocate(instance.id, placement);
      };
      return { store, knex, instance, moveTo };
    }

    it('starts empty and remembers the guest left behind, newest first, with when it moved', async () => {
      const { store, instance, moveTo } = await movingStore();
      expect(instance.formerGuests).toEqual([]);
      await moveTo(placementOf(120), 1);
      const moved = await moveTo({ ...placementOf(130, 'pve-c'), storage: 'ceph', storageShared: true }, 2);
      expect(moved.formerGuests).toEqual([
        { cluster: 'demo', node: 'pve-b', vmid: 120, storage: 'local-zfs', movedAt: '2026-11-25T22:02:00.000Z' },
        { cluster: 'demo', node: 'pve-a', vmid: 104, storage: 'local-zfs', movedAt: '2026-11-25T22:01:00.000Z' },
      ]);
      expect(await store.get(instance.id)).toEqual(moved);
    });

    it('changes nothing for the same placement again, and remembers no guest when only storage or SSH change', async () => {
      const { instance, moveTo } = await movingStore();
      const moved = await moveTo(placementOf(120), 1);
      expect(await moveTo(placementOf(120), 2)).toEqual(moved);
      const sameGuest = await moveTo({ ...placementOf(120), storage: 'ceph', storageShared: true }, 3);
      expect(sameGuest.formerGuests).toEqual(moved.formerGuests);
      expect(sameGuest.formerGuests.map(guest => guest.vmid)).toEqual([instance.vmid]);
    });

    it('counts another cluster or node with the same VMID as another guest', async () => {
      const { moveTo } = await movingStore();
      await moveTo(placementOf(104, 'pve-a', 'ams1'), 1);
      const moved = await moveTo(placementOf(104, 'pve-b', 'ams1'), 2);
      expect(moved.formerGuests.map(({ cluster, node, vmid }) => `${cluster}/${node}/${vmid}`)).toEqual(['ams1/pve-a/104', 'demo/pve-a/104']);
    });

    it('lists each guest once, and not the one it moved back to', async () => {
      const { moveTo } = await movingStore();
      await moveTo(placementOf(120), 1);
      // Back onto the first guest: it is current again, so it is no former guest.
      const back = await moveTo(placementOf(104, 'pve-a'), 2);
      expect(back.formerGuests).toEqual([{ cluster: 'demo', node: 'pve-b', vmid: 120, storage: 'local-zfs', movedAt: '2026-11-25T22:02:00.000Z' }]);
      // Leaving 104 again lists it once, as the newest.
      const again = await moveTo(placementOf(130), 3);
      expect(again.formerGuests.map(guest => [guest.vmid, guest.movedAt])).toEqual([
        [104, '2026-11-25T22:03:00.000Z'],
        [120, '2026-11-25T22:02:00.000Z'],
      ]);
    });

    it(`keeps the newest ${MAX_FORMER_GUESTS}`, async () => {
      const { moveTo } = await movingStore();
      let moved;
      for (let hop = 1; hop <= MAX_FORMER_GUESTS + 2; hop++) moved = await moveTo(placementOf(200 + hop), hop);
      // Left behind: 104 (the first), then 201 … 209; the newest eight are 209 down to 202.
      expect(moved!.formerGuests.map(guest => guest.vmid)).toEqual([209, 208, 207, 206, 205, 204, 203, 202]);
    });

    it('reads a record written before former guests were remembered, and relocates it', async () => {
      const { store, knex, instance, moveTo } = await movingStore();
      const { formerGuests: _, ...older } = instance;
      await knex('fediversity_instances').where({ id: instance.id }).update({ record_json: JSON.stringify(older) });
      expect(await store.get(instance.id)).toEqual(instance);
      expect((await store.list())[0].formerGuests).toEqual([]);
      expect((await moveTo(placementOf(120), 1)).formerGuests).toEqual([
        { cluster: 'demo', node: 'pve-a', vmid: 104, storage: 'local-zfs', movedAt: '2026-11-25T22:01:00.000Z' },
      ]);
    });
  });

  it('throws NotFoundError for an unknown id', async () => {
    const store = await newStore();
    await expect(store.get('nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});
