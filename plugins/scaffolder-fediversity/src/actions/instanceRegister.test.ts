import { mockCredentials } from '@backstage/backend-test-utils';
import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { InstanceRegistration } from '../lib/backendClient';
import { actionContext, outputsOf } from '../__testUtils__/actionContext';
import { MemoryCheckpointStore } from '../__testUtils__/checkpointStore';
import { FediversityActionDeps } from './deps';
import { createInstanceRegisterAction, instanceName } from './instanceRegister';

/** The instance store's contract: one record per idempotency key. */
function fakeBackend() {
  const byKey = new Map<string, { id: string; name: string; guestRef: string; storageRef: string }>();
  const registerInstance = jest.fn(async (registration: InstanceRegistration) => {
    const existing = byKey.get(registration.idempotencyKey);
    if (existing) return existing;
    const record = {
      id: `id-${byKey.size + 1}`,
      name: registration.name,
      guestRef: `resource:default/${registration.cluster}-ct-${registration.vmid}`,
      storageRef: `resource:default/${registration.cluster}-${registration.node}-${registration.storage}`,
    };
    byKey.set(registration.idempotencyKey, record);
    return record;
  });
  return { registerInstance, enqueueJob: jest.fn(), createSchedule: jest.fn(), listSchedules: jest.fn(), byKey };
}

function deps(backend: ReturnType<typeof fakeBackend>): FediversityActionDeps {
  return {
    clusters: new StaticPveClusters([{ name: 'demo', client: {} as any, demo: true }]),
    guestAccess: { clientKey: jest.fn(), prepare: jest.fn() },
    backend,
    catalog: { getEntityByRef: jest.fn() },
    flakeFiles: async () => [],
  };
}

const input = {
  app: 'mastodon',
  owner: 'social-team',
  domain: 'social.example.org',
  node: 'pve-a',
  vmid: 105,
  storage: 'local-zfs',
  coreServices: ['bind9', 'component:default/openbao'],
  flakeRef: '/etc/nixos#social',
  ipv4: '10.10.0.105',
};

describe('fediversity:instance:register', () => {
  it('records the instance for the initiator with full refs and the demo flag', async () => {
    const backend = fakeBackend();
    const ctx = actionContext(input, new MemoryCheckpointStore(), { taskId: 'task-9' });
    await createInstanceRegisterAction(deps(backend)).handler(ctx);

    expect(backend.registerInstance).toHaveBeenCalledWith(
      expect.objectContaining({
        idempotencyKey: 'task-9:mastodon-social-example-org',
        name: 'mastodon-social-example-org',
        app: 'component:default/mastodon',
        owner: 'group:default/social-team',
        coreServices: ['component:default/bind9', 'component:default/openbao'],
        cluster: 'demo',
        demo: true,
        os: 'nixos',
        taskId: 'task-9',
      }),
      mockCredentials.user(),
    );
    expect(outputsOf(ctx)).toEqual({
      instanceId: 'id-1',
      name: 'mastodon-social-example-org',
      entityRef: 'component:default/mastodon-social-example-org',
      guestRef: 'resource:default/demo-ct-105',
      storageRef: 'resource:default/demo-pve-a-local-zfs',
    });
  });

  it('after a crash between the POST and the checkpoint, the retry gets the same instance', async () => {
    const backend = fakeBackend();
    const store = new MemoryCheckpointStore();
    const crashing = actionContext(input, store, { taskId: 'task-crash' });
    crashing.checkpoint = (async ({ fn }: { fn: () => Promise<unknown> }) => {
      await fn();
      throw new Error('backend crashed');
    }) as any;
    await expect(createInstanceRegisterAction(deps(backend)).handler(crashing)).rejects.toThrow('backend crashed');

    const retry = actionContext(input, store, { taskId: 'task-crash' });
    await createInstanceRegisterAction(deps(backend)).handler(retry);
    expect(outputsOf(retry).instanceId).toBe('id-1');
    expect(backend.byKey.size).toBe(1);

    // And once recorded, a replay does not call the backend at all.
    const calls = backend.registerInstance.mock.calls.length;
    await createInstanceRegisterAction(deps(backend)).handler(actionContext(input, store, { taskId: 'task-crash' }));
    expect(backend.registerInstance.mock.calls.length).toBe(calls);
  });

  it('dry run records nothing', async () => {
    const backend = fakeBackend();
    const store = new MemoryCheckpointStore();
    const ctx = actionContext(input, store, { isDryRun: true });
    await createInstanceRegisterAction(deps(backend)).handler(ctx);
    expect(backend.registerInstance).not.toHaveBeenCalled();
    expect(outputsOf(ctx).entityRef).toBe('component:default/mastodon-social-example-org');
    expect(store.states.size).toBe(0);
  });

  it('keeps names valid for long domains and rejects malformed refs', async () => {
    const long = instanceName('nextcloud', `${'a'.repeat(40)}.${'b'.repeat(30)}.example.org`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/);
    const ctx = actionContext({ ...input, owner: 'group:' }, new MemoryCheckpointStore());
    await expect(createInstanceRegisterAction(deps(fakeBackend())).handler(ctx)).rejects.toThrow(/^owner: /);
  });
});
