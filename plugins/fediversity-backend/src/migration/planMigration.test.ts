import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataClassesSchema } from '@fediversity/plugin-fediversity-common';
import { parse } from 'yaml';
import { buildMigrationParams, dnsRecordFor, planDataClasses, PlanInput, PlannedHost } from './planMigration';
import { bindTarget } from './params';
import { strategiesFromAppDefinition } from './strategies';

/** The catalog's Mastodon definition as it is: database, redis, state directories, media on S3. */
const mastodon = {
  name: 'mastodon',
  dataClasses: dataClassesSchema.parse(
    parse(readFileSync(join(__dirname, '../../../../catalog/apps/mastodon.yaml'), 'utf8')).spec.dataClasses,
  ),
  identityPaths: [] as string[],
};

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const host = (username: string, address = '127.0.0.1'): PlannedHost => ({
  host: address,
  port: 2222,
  username,
  hostPublicKey: KEY,
  hostKeyFingerprint: `SHA256:${'x'.repeat(43)}`,
  privateKeyRef: 'guest-access.demo',
});
const provision = { cluster: 'demo', node: 'pve-b', storage: 'local-zfs', ostemplate: 'local:vztmpl/nixos.tar.xz', diskGb: 8, memoryMb: 2048, cores: 2, vmid: 120 };
const postgres = { bin: '/run/current-system/sw/bin', dataDir: '/var/lib/postgresql/16', port: 5432, socketDir: '/run/postgresql', osUser: 'postgres' };
const replication = { user: 'postgres', tls: { mode: 'prefer' as const } };

describe('planDataClasses', () => {
  it('on a demo guest moves the files and says plainly that no database or object store runs there', () => {
    const plan = planDataClasses(mastodon, { demo: true });
    expect(plan.dataClasses.map(dataClass => dataClass.name)).toEqual(['state']);
    expect(plan.usesPostgres).toBe(false);
    expect(plan.checks).toEqual([
      { name: 'data class database', ok: true, message: 'demo guest: no database runs here; files and identity move' },
      { name: 'data class redis', ok: true, message: 'demo guest: no database runs here; files and identity move' },
      { name: 'data class state', ok: true, message: 'files (/var/lib/mastodon): live rsync, final pass after the quiesce' },
      { name: 'data class media', ok: true, message: 'demo guest: no object store runs here; files and identity move' },
    ]);
  });

  it('on real hosts streams PostgreSQL and fails the classes no strategy moves yet', () => {
    const plan = planDataClasses(mastodon, { demo: false });
    expect(plan.usesPostgres).toBe(true);
    expect(plan.dataClasses.map(dataClass => dataClass.name)).toEqual(['database', 'state']);
    expect(plan.checks.filter(check => !check.ok)).toEqual([
      { name: 'data class redis', ok: false, message: 'migrating redis data with dump-restore is not supported yet; the migration would lose it' },
      { name: 'data class media', ok: false, message: 'migrating blob data with s3-mirror is not supported yet; the migration would lose it' },
    ]);
  });

  it('names identity files and fails when nothing could move', () => {
    const onlyDatabase = { ...mastodon, dataClasses: mastodon.dataClasses.filter(dataClass => dataClass.kind === 'database') };
    expect(planDataClasses(onlyDatabase, { demo: true }).checks.at(-1)).toEqual({
      name: 'data',
      ok: false,
      message: 'nothing of this app could be moved here',
    });
    const withIdentity = planDataClasses({ ...onlyDatabase, identityPaths: ['/var/lib/app/secret.key'] }, { demo: true });
    expect(withIdentity.checks.every(check => check.ok)).toBe(true);
    expect(withIdentity.checks.at(-1)).toMatchObject({ name: 'identity', message: expect.stringContaining('1 identity file') });
  });
});

describe('buildMigrationParams', () => {
  it('builds demo params the job kind accepts: files only, no PostgreSQL, a provisioned target with the planned VMID', () => {
    const params = buildMigrationParams({
      app: mastodon,
      data: planDataClasses(mastodon, { demo: true }),
      demo: true,
      source: host('ct-104'),
      target: host('ct-120'),
      provision,
      sourceGuest: { cluster: 'demo', node: 'pve-a', vmid: 104 },
      postgres,
      replication,
      peerIdentityFile: '/root/.ssh/fediversity-migration-0a1b2c3d',
    });
    expect(params.source).toEqual({
      host: '127.0.0.1',
      port: 2222,
      username: 'ct-104',
      hostKey: `SHA256:${'x'.repeat(43)}`,
      hostPublicKey: KEY,
      privateKey: { secretRef: 'guest-access.demo' },
      pathPrefix: '/',
    });
    expect(params.target.username).toBe('ct-120');
    expect(params.provision).toEqual(provision);
    // Recorded for the decommission job, which destroys exactly this guest once the migration completed.
    expect(params.sourceGuest).toEqual({ cluster: 'demo', node: 'pve-a', vmid: 104 });
    expect(params.dns).toBeUndefined();
    expect(strategiesFromAppDefinition(bindTarget(params)!).map(strategy => strategy.name)).toEqual(['files:state']);
  });

  /** Planning a real instance's move (Mastodon's database and state) to `target`. */
  const realPlan = (target: PlanInput['target'], extra: Partial<PlanInput>): PlanInput => ({
    app: mastodon,
    data: planDataClasses({ ...mastodon, dataClasses: mastodon.dataClasses.filter(d => ['database', 'state'].includes(d.name)) }, { demo: false }),
    demo: false,
    source: host('root', '10.10.1.4'),
    target,
    provision,
    sourceGuest: { cluster: 'pve', node: 'pve-a', vmid: 104 },
    postgres,
    replication,
    peerIdentityFile: '/root/.ssh/fediversity-migration-0a1b2c3d',
    ...extra,
  });

  it('gives real hosts their PostgreSQL settings at their own addresses, and DNS when planned', () => {
    const params = buildMigrationParams(
      realPlan(host('root', '10.10.2.7'), { dns: { zone: 'example.org.', name: 'social', type: 'A', ttl: 60, targetAddress: '10.10.2.7' } }),
    );
    expect(params.source.postgres).toEqual({ ...postgres, address: '10.10.1.4' });
    expect(params.target.postgres).toEqual({ ...postgres, address: '10.10.2.7' });
    expect(params.dns?.targetAddress).toBe('10.10.2.7');
    expect(strategiesFromAppDefinition(bindTarget(params)!).map(strategy => strategy.name)).toEqual(['postgres:database', 'files:state']);
  });

  it('names the replication role, and its password by reference, only where PostgreSQL moves', () => {
    const withPassword = { replication: { user: 'replicator', passwordRef: 'pg-replication', tls: { mode: 'verify-full' as const, rootCert: '/etc/ca.crt' } } };
    const params = buildMigrationParams(realPlan(host('root', '10.10.2.7'), withPassword));
    expect(params.replicationUser).toBe('replicator');
    expect(params.replicationPassword).toEqual({ secretRef: 'pg-replication' });
    expect(params.replicationTls).toEqual({ mode: 'verify-full', rootCert: '/etc/ca.crt' });
    expect(buildMigrationParams(realPlan(host('root', '10.10.2.7'), {})).replicationPassword).toBeUndefined();
    const demo = buildMigrationParams({ ...realPlan(host('ct-120'), {}), demo: true, ...withPassword });
    expect(demo.replicationPassword).toBeUndefined();
  });

  it('leaves a new guest on a real cluster to be bound after provisioning: its address, key and DNS address', () => {
    const params = buildMigrationParams(
      realPlan(
        { bindAfterProvision: true, port: 22, username: 'root', privateKeyRef: 'guest-access.pve' },
        { peerIdentityFile: '/root/.ssh/fediversity-migration-0a1b2c3d', dns: { zone: 'example.org.', name: 'social', type: 'A', ttl: 60 } },
      ),
    );
    expect(params.target).toEqual({ bindAfterProvision: true, port: 22, username: 'root', privateKey: { secretRef: 'guest-access.pve' }, pathPrefix: '/', postgres });
    expect(bindTarget(params)).toBeUndefined();

    const endpoint = { address: '10.10.2.9', host: '10.10.2.9', port: 22, username: 'root', hostPublicKey: KEY, hostKeyFingerprint: `SHA256:${'y'.repeat(43)}` };
    const bound = bindTarget(params, endpoint)!;
    expect(bound.target).toEqual({
      host: '10.10.2.9',
      port: 22,
      username: 'root',
      hostKey: endpoint.hostKeyFingerprint,
      hostPublicKey: KEY,
      privateKey: { secretRef: 'guest-access.pve' },
      pathPrefix: '/',
      postgres: { ...postgres, address: '10.10.2.9' },
    });
    expect(bound.dns?.targetAddress).toBe('10.10.2.9');
    expect(bound.peer).toEqual({ identityFile: '/root/.ssh/fediversity-migration-0a1b2c3d', madeForMigration: true });
    expect(strategiesFromAppDefinition(bound).map(strategy => strategy.name)).toEqual(['postgres:database', 'files:state']);
  });

  it('refuses a late-bound target without a planned guest, and a known target without its DNS address', () => {
    const data = planDataClasses(mastodon, { demo: true });
    const base = {
      app: mastodon,
      data,
      demo: true,
      source: host('ct-104'),
      sourceGuest: { cluster: 'demo', node: 'pve-a', vmid: 104 },
      postgres,
      replication,
      peerIdentityFile: '/root/.ssh/fediversity-migration-0a1b2c3d',
    };
    const late = { bindAfterProvision: true as const, port: 22, username: 'root', privateKeyRef: 'guest-access.pve' };
    expect(() => buildMigrationParams({ ...base, target: late, provision: { ...provision, vmid: undefined as unknown as number } })).toThrow(/needs `provision` with its `vmid`/);
    expect(() => buildMigrationParams({ ...base, target: host('ct-120'), provision, dns: { zone: 'example.org.', name: 'app', type: 'A', ttl: 60 } })).toThrow(
      /required where the target is known/,
    );
  });

  it('refuses params the job kind would refuse: nothing to move', () => {
    expect(() =>
      buildMigrationParams({
        app: mastodon,
        data: { dataClasses: [], identityPaths: [], usesPostgres: false, checks: [] },
        demo: true,
        source: host('ct-104'),
        target: host('ct-120'),
        provision,
        sourceGuest: { cluster: 'demo', node: 'pve-a', vmid: 104 },
        postgres,
        replication,
        peerIdentityFile: '/root/.ssh/fediversity-migration-0a1b2c3d',
      }),
    ).toThrow(/at least one data class/);
  });
});

describe('dnsRecordFor', () => {
  it('finds the longest configured zone holding the domain', () => {
    expect(dnsRecordFor('social.example.org', ['org.', 'example.org.'])).toEqual({ zone: 'example.org.', name: 'social' });
    expect(dnsRecordFor('example.org', ['example.org.'])).toEqual({ zone: 'example.org.', name: '@' });
    expect(dnsRecordFor('social.example.net', ['example.org.'])).toBeUndefined();
    expect(dnsRecordFor('badexample.org', ['example.org.'])).toBeUndefined();
  });
});
