import { InputError } from '@backstage/errors';
import { parseTags } from '@fediversity/plugin-fediversity-node';
import { actionContext, outputsOf as outputs } from '../__testUtils__/actionContext';
import { MemoryCheckpointStore } from '../__testUtils__/checkpointStore';
import { SimulatorHarness, startSimulatorHarness } from '../__testUtils__/simulatorHarness';
import { createGuestCreateAction, identityTag } from './guestCreate';
import { FediversityActionDeps } from './deps';

jest.setTimeout(60_000);

let h: SimulatorHarness;
beforeAll(async () => {
  h = await startSimulatorHarness();
});
afterAll(() => h.stop());

function deps(): FediversityActionDeps {
  return {
    clusters: h.clusters,
    guestAccess: h.guestAccess,
    backend: { registerInstance: jest.fn(), enqueueJob: jest.fn(), createSchedule: jest.fn(), listSchedules: jest.fn() },
    catalog: { getEntityByRef: jest.fn(async () => ({}) as any) },
    flakeFiles: async () => [],
  };
}

function context(input: Record<string, unknown>, store: MemoryCheckpointStore, extra: { isDryRun?: boolean; signal?: AbortSignal } = {}) {
  return actionContext(input, store, { taskId: 'task-guest-create', stepId: 'guest', ...extra });
}

async function guestsTagged(tag: string) {
  const guests = await h.client.getClusterResources('vm');
  return guests.filter(guest => parseTags(guest.tags).includes(tag));
}

describe('fediversity:guest:create', () => {
  it('creates a running NixOS guest where there is room, tagged with its identity', async () => {
    const ctx = context({ hostname: 'social' }, new MemoryCheckpointStore());
    await createGuestCreateAction(deps()).handler(ctx);

    const out = outputs(ctx);
    const tag = identityTag('task-guest-create', 'guest', 'social');
    expect(out).toMatchObject({ cluster: 'demo', os: 'nixos', outcome: 'created', identityTag: tag, storage: 'local-zfs' });
    expect(out.template).toMatch(/nixos/);
    const [guest] = await guestsTagged(tag);
    expect(guest).toMatchObject({ vmid: out.vmid, node: out.node, status: 'running', name: 'social' });
    const config = await h.client.getGuestConfig({ node: out.node as string, vmid: out.vmid as number });
    expect(config).toMatchObject({ ostype: 'nixos', unprivileged: 1, features: 'nesting=1' });
  });

  it('creates a Debian guest for os: linux', async () => {
    const ctx = context({ hostname: 'mail', os: 'linux', node: 'pve-c', diskGiB: 8 }, new MemoryCheckpointStore());
    await createGuestCreateAction(deps()).handler(ctx);
    const out = outputs(ctx);
    expect(out).toMatchObject({ node: 'pve-c', os: 'linux', template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' });
    const config = await h.client.getGuestConfig({ node: 'pve-c', vmid: out.vmid as number });
    expect(config).toMatchObject({ ostype: 'debian', rootfs: expect.stringMatching(/^local-zfs:/) });
  });

  it('attaches to its own guest after a crash right after the create POST, never creating a second', async () => {
    const store = new MemoryCheckpointStore();
    const crashing = new MemoryCheckpointStore();
    // Shares the states; dies once the UPID is recorded, as a backend killed right after the POST would.
    (crashing as any).states = store.states;
    const checkpoint = crashing.checkpoint;
    crashing.checkpoint = (async (options: { key: string; fn: () => any }) => {
      const value = await checkpoint(options);
      if (options.key.endsWith('.upid')) throw new Error('backend crashed');
      return value;
    }) as any;
    const posts = () => h.transport.calls;

    const first = context({ hostname: 'crashy' }, crashing);
    await expect(createGuestCreateAction(deps()).handler(first)).rejects.toThrow('backend crashed');
    const tag = identityTag('task-guest-create', 'guest', 'crashy');
    const vmid = store.states.get(`guest.${tag}.vmid`);
    expect(vmid).toMatchObject({ status: 'success' });

    const callsBefore = posts();
    const second = context({ hostname: 'crashy' }, store);
    await createGuestCreateAction(deps()).handler(second);
    expect(posts()).toBeGreaterThan(callsBefore);
    const out = outputs(second);
    expect(['attached', 'exists']).toContain(out.outcome);
    expect(out.vmid).toBe((vmid as any).value);
    expect(await guestsTagged(tag)).toHaveLength(1);

    // A third run (the step re-run by recovery) only reads its checkpoints.
    const third = context({ hostname: 'crashy' }, store);
    const calls = posts();
    await createGuestCreateAction(deps()).handler(third);
    expect(posts()).toBe(calls);
    expect(outputs(third).vmid).toBe(out.vmid);
  });

  it('reuses the recorded VMID after a crash between allocation and POST', async () => {
    const store = new MemoryCheckpointStore();
    const crashing = new MemoryCheckpointStore();
    (crashing as any).states = store.states;
    const checkpoint = crashing.checkpoint;
    crashing.checkpoint = (async (options: { key: string; fn: () => any }) => {
      const value = await checkpoint(options);
      if (options.key.endsWith('.vmid') && store.states.get(options.key)?.status === 'success') {
        throw new Error('backend crashed');
      }
      return value;
    }) as any;
    await expect(createGuestCreateAction(deps()).handler(context({ hostname: 'early' }, crashing))).rejects.toThrow(
      'backend crashed',
    );
    const tag = identityTag('task-guest-create', 'guest', 'early');
    expect(await guestsTagged(tag)).toHaveLength(0);
    const recorded = (store.states.get(`guest.${tag}.vmid`) as any).value;

    const ctx = context({ hostname: 'early' }, store);
    await createGuestCreateAction(deps()).handler(ctx);
    expect(outputs(ctx)).toMatchObject({ vmid: recorded, outcome: 'created' });
    expect(await guestsTagged(tag)).toHaveLength(1);
  });

  it('dry run: reads live data, creates nothing, records no checkpoint', async () => {
    const store = new MemoryCheckpointStore();
    const before = (await h.client.getClusterResources('vm')).length;
    const ctx = context({ hostname: 'dry' }, store, { isDryRun: true });
    await createGuestCreateAction(deps()).handler(ctx);
    expect(outputs(ctx)).toMatchObject({ outcome: 'dry-run', cluster: 'demo', vmid: expect.any(Number) });
    expect((await h.client.getClusterResources('vm')).length).toBe(before);
    expect(store.states.size).toBe(0);
  });

  it('names the field and the choices when a node or storage does not fit', async () => {
    const action = createGuestCreateAction(deps());
    await expect(action.handler(context({ hostname: 'x', node: 'pve-z' }, new MemoryCheckpointStore()))).rejects.toThrow(
      new InputError('node: pve-z is not an online node of this cluster (online: pve-a, pve-b, pve-c)'),
    );
    await expect(
      action.handler(context({ hostname: 'x', node: 'pve-a', storage: 'local-lvm' }, new MemoryCheckpointStore())),
    ).rejects.toThrow(/storage: local-lvm on pve-a does not hold container disks \(choices: .*local-zfs/);
  });

  it('stops waiting when the task is cancelled', async () => {
    const slow = await startSimulatorHarness({ speed: 1 });
    try {
      const controller = new AbortController();
      const ctx = context({ hostname: 'cancelled' }, new MemoryCheckpointStore(), { signal: controller.signal });
      const run = createGuestCreateAction({ ...deps(), clusters: slow.clusters, guestAccess: slow.guestAccess }).handler(ctx);
      setTimeout(() => controller.abort(new Error('task cancelled')), 500);
      await expect(run).rejects.toThrow('task cancelled');
    } finally {
      await slow.stop();
    }
  });
});
