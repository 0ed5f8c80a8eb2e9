import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigReader } from '@backstage/config';
import { ConflictError, ResponseError } from '@backstage/errors';
import { SshConnection, StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { parse } from 'yaml';
import { readReplicationTarget } from '../lib/replicationTarget';
import { actionContext, outputsOf } from '../__testUtils__/actionContext';
import { MemoryCheckpointStore } from '../__testUtils__/checkpointStore';
import { SimulatorHarness, startSimulatorHarness } from '../__testUtils__/simulatorHarness';
import { FediversityActionDeps } from './deps';
import { createReplicationScheduleAction, DEMO_REPLICA_VMID } from './replicationSchedule';

jest.setTimeout(30_000);

let h: SimulatorHarness;
beforeAll(async () => {
  h = await startSimulatorHarness();
});
afterAll(() => h.stop());

const mastodon = parse(readFileSync(join(__dirname, '../../../../catalog/apps/mastodon.yaml'), 'utf8'));
const entityRef = 'component:default/mastodon-social-example-org';
const target = {
  host: 'replica.example.net',
  username: 'replica',
  hostPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
  root: '/srv/replicas',
  postgres: { bin: '/usr/lib/postgresql/16/bin', dataRoot: '/srv/replicas/postgres' },
};
const input = {
  entityRef,
  app: 'component:default/mastodon',
  vmid: 101,
  ipv4: '10.11.0.101',
  ssh: { host: '10.11.0.101', port: 22, username: 'root', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl' },
};

/** A schedule API like the backend's: one schedule per entity and data class, 409 for a second. */
function scheduleApi() {
  const stored: Array<{ id: string; entityRef: string; dataClass: string; strategy: string; intervalSeconds: number }> = [];
  const createSchedule = jest.fn(async (request: any) => {
    if (stored.some(s => s.entityRef === request.entityRef && s.dataClass === request.dataClass)) {
      const response = new Response(JSON.stringify({ error: { name: 'ConflictError', message: 'exists' } }), {
        status: 409,
        headers: { 'Content-Type': 'application/json' },
      });
      throw await ResponseError.fromResponse(response);
    }
    const schedule = { id: `s-${stored.length + 1}`, ...request };
    stored.push(schedule);
    return schedule;
  });
  const listSchedules = jest.fn(async (ref: string) => stored.filter(s => s.entityRef === ref));
  return { stored, createSchedule, listSchedules };
}

function deps(api = scheduleApi(), extra: Partial<FediversityActionDeps> = {}): FediversityActionDeps {
  return {
    clusters: h.clusters,
    guestAccess: h.guestAccess,
    backend: { registerInstance: jest.fn(), enqueueJob: jest.fn(), createSchedule: api.createSchedule, listSchedules: api.listSchedules },
    catalog: { getEntityByRef: jest.fn(async (ref: string) => (ref === 'component:default/mastodon' ? mastodon : {})) },
    flakeFiles: async () => [],
    timing: { pollInitialMs: 20 },
    ...extra,
  };
}

describe('fediversity:replication:schedule', () => {
  it('creates one schedule per replicable data class of the app, at the chosen interval, for the initiator', async () => {
    const api = scheduleApi();
    const ctx = actionContext({ ...input, target, intervalSeconds: 900 }, new MemoryCheckpointStore());
    await createReplicationScheduleAction(deps(api)).handler(ctx);
    expect(api.createSchedule.mock.calls.map(([request]) => [request.dataClass, request.strategy, request.intervalSeconds])).toEqual([
      ['database', 'postgres', 900],
      ['state', 'rsync', 900],
    ]);
    expect(api.createSchedule).toHaveBeenCalledWith(expect.objectContaining({ entityRef }), expect.objectContaining({ principal: expect.anything() }));
    const outputs = outputsOf(ctx);
    expect(outputs.schedules).toEqual([
      { dataClass: 'database', id: 's-1', strategy: 'postgres', intervalSeconds: 900 },
      { dataClass: 'state', id: 's-2', strategy: 'rsync', intervalSeconds: 900 },
    ]);
    expect(outputs.skipped.map((s: any) => s.dataClass)).toEqual(['redis', 'media']);
    expect(outputs.target).toBe('replica@replica.example.net:22');
  });

  it('uses the configured target and defaults to hourly', async () => {
    const api = scheduleApi();
    const configured = readReplicationTarget(new ConfigReader({ fediversity: { provisioning: { replicationTarget: target } } }));
    const ctx = actionContext(input, new MemoryCheckpointStore());
    await createReplicationScheduleAction(deps(api, { replicationTarget: configured })).handler(ctx);
    expect(outputsOf(ctx).target).toBe('replica@replica.example.net:22');
    expect(api.createSchedule.mock.calls.map(([request]) => request.intervalSeconds)).toEqual([3600, 3600]);
  });

  it('replays after a crash: a schedule created before the crash is adopted (409), none is created twice', async () => {
    const api = scheduleApi();
    const store = new MemoryCheckpointStore();
    const crashing = actionContext({ ...input, target }, store, { taskId: 'task-c' });
    let calls = 0;
    crashing.checkpoint = (async (options: { key: string; fn: () => Promise<any> }) => {
      // The target is recorded; the first schedule is created in the backend, then the process dies before its
      // checkpoint is saved.
      if (++calls === 1) return store.checkpoint(options as any);
      await options.fn();
      throw new Error('backend crashed');
    }) as any;
    await expect(createReplicationScheduleAction(deps(api)).handler(crashing)).rejects.toThrow('backend crashed');
    expect(api.stored).toHaveLength(1);

    const replay = actionContext({ ...input, target }, store, { taskId: 'task-c' });
    await createReplicationScheduleAction(deps(api)).handler(replay);
    expect(api.stored.map(s => s.dataClass)).toEqual(['database', 'state']);
    expect(outputsOf(replay).schedules.map((s: any) => s.id)).toEqual(['s-1', 's-2']);

    const again = actionContext({ ...input, target }, store, { taskId: 'task-c' });
    api.createSchedule.mockClear();
    await createReplicationScheduleAction(deps(api)).handler(again);
    expect(api.createSchedule).not.toHaveBeenCalled();
  });

  it('on a demo cluster without a configured target, replicates to the demo replica host with a key of the guest', async () => {
    const api = scheduleApi();
    const cluster = h.clusters.get('demo');
    const guest = await h.guestAccess.prepare(cluster, { vmid: 101, hostname: 'mastodon' });
    const ssh = { host: guest.host, port: guest.port, username: guest.username, hostKey: guest.hostKey! };
    const ctx = actionContext({ ...input, ssh }, new MemoryCheckpointStore());
    await createReplicationScheduleAction(deps(api)).handler(ctx);
    const [state] = api.createSchedule.mock.calls.map(([request]) => request);
    expect(state.dataClass).toBe('state');
    expect(state.params.target.host.username).toBe(`ct-${DEMO_REPLICA_VMID}`);
    expect(state.params.target.host.hostPublicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/);
    // The guest pushes with its own key, which the replica authorises; the portal's key stays in the portal.
    expect(state.params.source.host.peerIdentityFile).toBe('/root/.ssh/fediversity-replication');
    const { privateKey, publicKey } = await h.guestAccess.clientKey(cluster);
    const login = (endpoint: { host: string; port: number; username: string; hostKey?: string }) =>
      SshConnection.connect({ host: endpoint.host, port: endpoint.port, username: endpoint.username, hostKey: endpoint.hostKey!, privateKey });
    const source = await login(guest);
    const guestKey = (await source.readFile('/root/.ssh/fediversity-replication')).toString();
    source.close();
    expect(guestKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect(guestKey).not.toBe(privateKey);
    const replica = await login(await h.guestAccess.prepare(cluster, { vmid: DEMO_REPLICA_VMID, hostname: 'replica' }));
    const authorized = (await replica.readFile('/root/.ssh/authorized_keys')).toString().trim().split('\n');
    replica.close();
    expect(authorized).toContainEqual(expect.stringMatching(/^ssh-ed25519 \S+ fediversity-replication-mastodon-social-example-org$/));
    expect(authorized.join('\n')).not.toContain(publicKey.split(' ')[1]);
    // The demo target has no PostgreSQL: the database is listed as skipped, with the reason.
    expect(outputsOf(ctx).skipped).toContainEqual({ dataClass: 'database', reason: expect.stringMatching(/no PostgreSQL settings/) });
  });

  it('without any target on a real cluster, creates nothing and says why', async () => {
    const api = scheduleApi();
    const real = new StaticPveClusters([{ name: 'real', client: h.client, demo: false }]);
    const ctx = actionContext(input, new MemoryCheckpointStore());
    await createReplicationScheduleAction(deps(api, { clusters: real })).handler(ctx);
    expect(api.createSchedule).not.toHaveBeenCalled();
    expect(outputsOf(ctx).target).toMatch(/^none: no replication target configured/);
    expect(ctx.logger.warn).toHaveBeenCalledWith(expect.stringMatching(/replication: skipped/));
  });

  it('waits for the instance to reach the catalog first (schedules are authorised against it)', async () => {
    const api = scheduleApi();
    let lookups = 0;
    const appearing = jest.fn(async (ref: string) => {
      if (ref !== entityRef) return mastodon;
      lookups++;
      return lookups > 2 ? {} : undefined;
    });
    const ctx = actionContext({ ...input, target }, new MemoryCheckpointStore());
    await createReplicationScheduleAction(deps(api, { catalog: { getEntityByRef: appearing as any } })).handler(ctx);
    expect(ctx.logger.info).toHaveBeenCalledWith(`Waiting for ${entityRef} to appear in the catalog`);
    expect(api.createSchedule).toHaveBeenCalledTimes(2);
  });

  it('passes on other backend errors, and refuses an app without valid data classes', async () => {
    const api = scheduleApi();
    api.createSchedule.mockRejectedValueOnce(new ConflictError('not a 409 response'));
    await expect(
      createReplicationScheduleAction(deps(api)).handler(actionContext({ ...input, target }, new MemoryCheckpointStore())),
    ).rejects.toThrow('not a 409 response');

    const broken = { ...mastodon, spec: { ...mastodon.spec, dataClasses: [{ name: 'x', kind: 'tape' }] } };
    await expect(
      createReplicationScheduleAction(deps(api, { catalog: { getEntityByRef: jest.fn(async () => broken) } })).handler(
        actionContext({ ...input, target }, new MemoryCheckpointStore()),
      ),
    ).rejects.toThrow(/app: component:default\/mastodon has invalid spec.dataClasses: kind must be one of/);
  });

  it('a bare guest without directories needs no target and creates nothing', async () => {
    const api = scheduleApi();
    const prepare = jest.spyOn(h.guestAccess, 'prepare');
    const { app: _none, ...bare } = input;
    const ctx = actionContext({ ...bare, entityRef: 'resource:default/demo-ct-101' }, new MemoryCheckpointStore());
    await createReplicationScheduleAction(deps(api)).handler(ctx);
    expect(api.createSchedule).not.toHaveBeenCalled();
    expect(prepare).not.toHaveBeenCalled();
    expect(outputsOf(ctx)).toEqual({ schedules: [], skipped: [], target: 'none: nothing to replicate' });
    prepare.mockRestore();
  });

  it('dry run creates nothing and prepares no demo host', async () => {
    const api = scheduleApi();
    const prepare = jest.spyOn(h.guestAccess, 'prepare');
    const ctx = actionContext(input, new MemoryCheckpointStore(), { isDryRun: true });
    await createReplicationScheduleAction(deps(api)).handler(ctx);
    expect(api.createSchedule).not.toHaveBeenCalled();
    expect(prepare).not.toHaveBeenCalled();
    expect(outputsOf(ctx).schedules).toEqual([{ dataClass: 'state', id: 'dry-run', strategy: 'rsync', intervalSeconds: 3600 }]);
    prepare.mockRestore();
  });
});
