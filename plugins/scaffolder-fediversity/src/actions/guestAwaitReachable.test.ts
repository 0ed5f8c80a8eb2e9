import { startTestSshd, TestSshd } from '@fediversity/plugin-fediversity-node';
import { GuestAccess } from '../lib/guestAccess';
import { actionContext, outputsOf } from '../__testUtils__/actionContext';
import { MemoryCheckpointStore } from '../__testUtils__/checkpointStore';
import { SimulatorHarness, startSimulatorHarness } from '../__testUtils__/simulatorHarness';
import { FediversityActionDeps } from './deps';
import { createGuestAwaitReachableAction } from './guestAwaitReachable';
import { createGuestCreateAction } from './guestCreate';

jest.setTimeout(120_000);

let h: SimulatorHarness;
let sshd: TestSshd | string;
beforeAll(async () => {
  h = await startSimulatorHarness();
  sshd = await startTestSshd();
});
afterAll(async () => {
  await h.stop();
  if (typeof sshd !== 'string') await sshd.stop();
});

function deps(overrides: Partial<FediversityActionDeps> = {}): FediversityActionDeps {
  return {
    clusters: h.clusters,
    guestAccess: h.guestAccess,
    backend: { registerInstance: jest.fn(), enqueueJob: jest.fn(), createSchedule: jest.fn(), listSchedules: jest.fn() },
    catalog: { getEntityByRef: jest.fn(async () => ({}) as any) },
    flakeFiles: async () => [],
    timing: { pollInitialMs: 50 },
    ...overrides,
  };
}

async function newGuest(hostname: string) {
  const ctx = actionContext({ hostname }, new MemoryCheckpointStore(), { taskId: `task-${hostname}` });
  await createGuestCreateAction(deps()).handler(ctx);
  return outputsOf(ctx) as { node: string; vmid: number };
}

describe('fediversity:guest:awaitReachable', () => {
  it('finds the address, maps the guest to a demo host and pins that host key', async () => {
    const guest = await newGuest('reach');
    const store = new MemoryCheckpointStore();
    const ctx = actionContext({ ...guest, hostname: 'reach' }, store);
    await createGuestAwaitReachableAction(deps()).handler(ctx);

    const out = outputsOf(ctx);
    const demo = await h.guestAccess.prepare(h.clusters.get('demo'), { vmid: guest.vmid, hostname: 'reach', ipv4: out.ipv4 });
    expect(out).toMatchObject({
      ipv4: expect.stringMatching(/^10\.\d+\.\d+\.\d+$/),
      host: '127.0.0.1',
      username: `ct-${guest.vmid}`,
      hostKey: demo.hostKey,
      trust: 'demo',
    });
    expect(out.hostKeyFingerprint).toMatch(/^SHA256:/);

    // Replayed: the endpoint and the pin come from the checkpoints, not from asking again.
    const again = actionContext({ ...guest, hostname: 'reach' }, store);
    await createGuestAwaitReachableAction(deps()).handler(again);
    expect(outputsOf(again)).toEqual(out);
    expect([...store.runs.values()].every(count => count === 1)).toBe(true);
  });

  it('trust on first use: records and shows the key, then refuses a host presenting another', async () => {
    if (typeof sshd === 'string') {
      console.warn(`skipped: ${sshd}`);
      return;
    }
    const server = sshd;
    const guest = await newGuest('tofu');
    const realAccess: GuestAccess = {
      clientKey: async () => ({ privateKey: server.clientPrivateKey, publicKey: server.clientPublicKey }),
      prepare: async () => ({ host: server.host, port: server.port, username: server.username, trust: 'tofu' }),
    };
    const store = new MemoryCheckpointStore();
    const ctx = actionContext({ ...guest, hostname: 'tofu' }, store);
    await createGuestAwaitReachableAction(deps({ guestAccess: realAccess })).handler(ctx);
    expect(outputsOf(ctx)).toMatchObject({ trust: 'tofu', hostKeyFingerprint: server.hostKeyFingerprint, port: server.port });
    expect(ctx.logger.warn).toHaveBeenCalledWith(expect.stringContaining(`presented host key ${server.hostKeyFingerprint}`));

    // The machine behind the address changes its key: the recorded pin must win over asking again.
    const other = await startTestSshd();
    if (typeof other === 'string') throw new Error(other);
    try {
      const swapped: GuestAccess = {
        ...realAccess,
        prepare: async () => ({ host: other.host, port: other.port, username: other.username, trust: 'tofu' }),
      };
      const pinnedStore = new MemoryCheckpointStore();
      for (const [key, state] of store.states) {
        if (key.endsWith('.hostKey')) pinnedStore.states.set(key, state);
      }
      const replay = actionContext({ ...guest, hostname: 'tofu', timeoutSeconds: 10 }, pinnedStore);
      const run = createGuestAwaitReachableAction(deps({ guestAccess: { ...swapped, clientKey: async () => ({ privateKey: other.clientPrivateKey, publicKey: other.clientPublicKey }) } })).handler(replay);
      const started = Date.now();
      await expect(run).rejects.toThrow(/Host key verification failed/);
      // Refused at once, not retried until the deadline.
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      await other.stop();
    }
  });

  it('dry run contacts nothing', async () => {
    const calls = h.transport.calls;
    const ctx = actionContext({ node: 'pve-a', vmid: 999, hostname: 'dry' }, new MemoryCheckpointStore(), { isDryRun: true });
    await createGuestAwaitReachableAction(deps()).handler(ctx);
    expect(outputsOf(ctx).trust).toBe('dry-run');
    expect(h.transport.calls).toBe(calls);
  });

  it('gives up at the deadline for a guest without an address, and stops at once when cancelled', async () => {
    const ctx = actionContext({ node: 'pve-a', vmid: 98765, hostname: 'ghost', timeoutSeconds: 10 }, new MemoryCheckpointStore());
    const controller = new AbortController();
    const cancelled = actionContext({ node: 'pve-a', vmid: 98765, hostname: 'ghost' }, new MemoryCheckpointStore(), {
      signal: controller.signal,
    });
    const run = createGuestAwaitReachableAction(deps({ timing: { pollInitialMs: 1_000 } })).handler(cancelled);
    setTimeout(() => controller.abort(new Error('task cancelled')), 300);
    await expect(run).rejects.toThrow('task cancelled');
    await expect(createGuestAwaitReachableAction(deps({ timing: { pollInitialMs: 4_000 } })).handler(ctx)).rejects.toThrow(/Gave up waiting/);
  });
});
