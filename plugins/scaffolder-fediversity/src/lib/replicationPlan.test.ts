import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataClassesSchema, scheduleParamsSchemas } from '@fediversity/plugin-fediversity-common';
import { parse } from 'yaml';
import { directoryDataClasses, planReplication } from './replicationPlan';
import { parseReplicationTarget } from './replicationTarget';

const APPS = join(__dirname, '../../../../catalog/apps');
const apps = readdirSync(APPS).map(file => parse(readFileSync(join(APPS, file), 'utf8')));

const source = {
  host: '10.11.0.101',
  port: 22,
  username: 'root',
  hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl root@social',
  address: '10.11.0.101',
};
const target = parseReplicationTarget(
  {
    host: 'replica.example.net',
    username: 'replica',
    hostPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBPLbDrwSyXYUiHUj6xR6y3JBFnOUeQmIt8ceNGJbdrM',
    root: '/srv/replicas',
    postgres: { bin: '/usr/lib/postgresql/16/bin', dataRoot: '/srv/replicas/postgres' },
  },
  'target',
);

describe('planReplication', () => {
  it.each(apps.map(app => [app.metadata.name, app]))(
    '%s: every data class is scheduled with params the backend accepts, or skipped with a reason',
    (name, app) => {
      const dataClasses = dataClassesSchema.parse(app.spec.dataClasses);
      const plan = planReplication({ instance: `${name}-social-example-org`, vmid: 101, dataClasses, source, target });
      expect([...plan.schedules.map(s => s.dataClass), ...plan.skipped.map(s => s.dataClass)].sort()).toEqual(
        dataClasses.map(d => d.name).sort(),
      );
      for (const schedule of plan.schedules) {
        const result = scheduleParamsSchemas[schedule.strategy].safeParse(schedule.params);
        expect({ dataClass: schedule.dataClass, issues: result.success ? [] : result.error.issues }).toEqual({
          dataClass: schedule.dataClass,
          issues: [],
        });
      }
      for (const skipped of plan.skipped) expect(skipped.reason.length).toBeGreaterThan(10);
    },
  );

  it('maps Mastodon: PostgreSQL to a standby on the target, state to quiesced rsync, the rest skipped', () => {
    const mastodon = apps.find(app => app.metadata.name === 'mastodon');
    const plan = planReplication({
      instance: 'mastodon-social-example-org',
      vmid: 123,
      dataClasses: dataClassesSchema.parse(mastodon.spec.dataClasses),
      source,
      target,
    });
    expect(plan.schedules.map(s => [s.dataClass, s.strategy])).toEqual([
      ['database', 'postgres'],
      ['state', 'rsync'],
    ]);
    const [database, state] = plan.schedules;
    expect(database.params).toMatchObject({
      primary: { host: { host: '10.11.0.101', hostPublicKey: source.hostKey.split(' ').slice(0, 2).join(' ') }, dataDir: '/var/lib/postgresql/16' },
      primaryAddress: '10.11.0.101',
      standby: { dataDir: '/srv/replicas/postgres/mastodon-social-example-org', port: 15432 + 123 },
      slot: 'fdv_mastodon_social_example_org',
    });
    expect(state.params).toMatchObject({
      source: { path: '/var/lib/mastodon' },
      target: { root: '/srv/replicas/mastodon-social-example-org/state' },
      quiesce: [['systemctl', 'stop', 'mastodon.target', 'mastodon-*.service']],
      unquiesce: [['systemctl', 'start', 'mastodon.target']],
    });
    expect(plan.skipped.map(s => s.dataClass)).toEqual(['redis', 'media']);
  });

  it('gives standbys the target’s replication role, its password by reference and TLS', () => {
    const secured = parseReplicationTarget(
      {
        ...target,
        postgres: {
          ...target.postgres,
          replicationUser: 'streamer',
          replicationPasswordRef: 'pg-replication',
          replicationTls: { mode: 'verify-full', rootCert: '/etc/fediversity/guests-ca.crt' },
        },
      },
      'target',
    );
    const mastodon = apps.find(app => app.metadata.name === 'mastodon');
    const plan = planReplication({ instance: 'mastodon-social-example-org', vmid: 123, dataClasses: dataClassesSchema.parse(mastodon.spec.dataClasses), source, target: secured });
    const params = scheduleParamsSchemas.postgres.parse(plan.schedules[0].params);
    expect(params).toMatchObject({
      replicationUser: 'streamer',
      replicationPasswordRef: 'pg-replication',
      replicationTls: { mode: 'verify-full', rootCert: '/etc/fediversity/guests-ca.crt' },
    });
    expect(() => parseReplicationTarget({ ...target, postgres: { ...target.postgres, replicationTls: { mode: 'verify-full' } } }, 'target')).toThrow(
      /target\.postgres\.replicationTls\.rootCert: verify-ca and verify-full need rootCert/,
    );
  });

  it('without PostgreSQL settings on the target, says so instead of scheduling a standby', () => {
    const { postgres: _none, ...filesOnly } = target;
    const synapse = apps.find(app => app.metadata.name === 'synapse');
    const plan = planReplication({
      instance: 'synapse-chat-example-org',
      vmid: 101,
      dataClasses: dataClassesSchema.parse(synapse.spec.dataClasses),
      source,
      target: filesOnly,
    });
    expect(plan.skipped.find(s => s.dataClass === 'database')?.reason).toMatch(/no PostgreSQL settings/);
  });

  it('copies the directory of a SQLite database, and bare-guest directories one schedule each', () => {
    const gotosocial = apps.find(app => app.metadata.name === 'gotosocial');
    const plan = planReplication({
      instance: 'gotosocial-fedi-example-org',
      vmid: 101,
      dataClasses: dataClassesSchema.parse(gotosocial.spec.dataClasses),
      source,
      target,
    });
    expect(plan.schedules[0].params).toMatchObject({ source: { path: '/var/lib/gotosocial' } });

    const bare = planReplication({ instance: 'demo-ct-101', vmid: 101, dataClasses: directoryDataClasses(['/srv', '/home']), source, target });
    expect(bare.schedules.map(s => [s.dataClass, (s.params as any).source.path, (s.params as any).quiesce])).toEqual([
      ['files', '/srv', []],
      ['files-2', '/home', []],
    ]);
  });

  it('refuses an instance name that could leave the target root', () => {
    expect(() => planReplication({ instance: '../etc', vmid: 101, dataClasses: [], source, target })).toThrow(/Invalid instance name/);
  });

  it('refuses a target with a path that is not plain or a host key that is not a public key', () => {
    expect(() => parseReplicationTarget({ ...target, root: '/srv/../etc' }, 't')).toThrow(/t\.root: must not contain \.\./);
    expect(() => parseReplicationTarget({ ...target, hostPublicKey: 'SHA256:abc' }, 't')).toThrow(/t\.hostPublicKey/);
  });
});
