import { TestDatabases } from '@backstage/backend-test-utils';
import { generateSshKeyPair } from '@fediversity/plugin-fediversity-node';
import { applyMigrations } from '../jobs/migrations';
import { ScheduleStore } from '../replication/ScheduleStore';
import { MigrationHost } from './params';
import { followInstance, replicationKeyFiles } from './replicationFollows';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ENTITY = 'component:default/social-example-org';
const OTHER = 'component:default/other-example-org';
const key = () => generateSshKeyPair().publicKey.split(' ').slice(0, 2).join(' ');
const OLD = { host: '127.0.0.1', port: 2222, username: 'ct-101', hostPublicKey: key() };
const REPLICA = { host: '127.0.0.1', port: 2222, username: 'ct-99', hostPublicKey: key() };
const NEW: MigrationHost = {
  host: '127.0.0.1',
  port: 2222,
  username: 'ct-120',
  hostKey: 'SHA256:x',
  hostPublicKey: `${key()} fediversity-demo-host`,
  privateKey: { secretRef: 'guest-access.demo' },
  pathPrefix: '/',
};

async function storeWithSchedules() {
  const knex = await databases.init('SQLITE_3');
  await applyMigrations(knex);
  const schedules = new ScheduleStore(knex);
  const rsync = (entityRef: string, host: object) =>
    schedules.create(
      {
        entityRef,
        dataClass: 'state',
        strategy: 'rsync',
        params: { source: { host, path: '/var/lib/mastodon' }, target: { host: REPLICA, root: '/srv/replicas/social/state' } },
      },
      'user:default/guest',
      1000,
    );
  const files = await rsync(ENTITY, { ...OLD, peerIdentityFile: '/root/.ssh/fediversity-replication' });
  const standby = await schedules.create(
    {
      entityRef: ENTITY,
      dataClass: 'database',
      strategy: 'postgres',
      params: {
        primary: { host: OLD, dataDir: '/var/lib/postgresql/16' },
        primaryAddress: '10.0.0.5',
        standby: { host: REPLICA, dataDir: '/srv/replicas/postgres/social', port: 15433 },
        slot: 'fdv_social',
      },
    },
    'user:default/guest',
    1000,
  );
  const unrelated = await rsync(OTHER, OLD);
  return { schedules, files, standby, unrelated };
}

describe('replication follows a migrated instance', () => {
  it('names the key files the file schedules push with (copied with the identity files)', async () => {
    const { schedules } = await storeWithSchedules();
    expect(await replicationKeyFiles(schedules, ENTITY)).toEqual(['/root/.ssh/fediversity-replication']);
    expect(await replicationKeyFiles(schedules, OTHER)).toEqual([]);
  });

  it('re-points file schedules at the new guest, pauses a standby of the old primary, touches nothing else; idempotent', async () => {
    const { schedules, files, standby, unrelated } = await storeWithSchedules();
    expect(await followInstance(schedules, ENTITY, OLD, NEW, 2000)).toEqual({ repointed: ['state'], paused: ['database'] });

    const moved = await schedules.get(files.id);
    expect(moved.params.source).toEqual({
      host: { host: NEW.host, port: NEW.port, username: 'ct-120', hostPublicKey: NEW.hostPublicKey.split(' ').slice(0, 2).join(' '), peerIdentityFile: '/root/.ssh/fediversity-replication' },
      path: '/var/lib/mastodon',
    });
    expect(moved.params.target).toEqual(files.params.target);
    expect(moved.enabled).toBe(true);
    expect((await schedules.get(standby.id)).enabled).toBe(false);
    expect(await schedules.get(unrelated.id)).toEqual(unrelated);

    // A replay (the observe step ran again after a crash) changes nothing more.
    expect(await followInstance(schedules, ENTITY, OLD, NEW, 3000)).toEqual({ repointed: [], paused: [] });
    expect((await schedules.get(files.id)).params).toEqual(moved.params);
  });
});
