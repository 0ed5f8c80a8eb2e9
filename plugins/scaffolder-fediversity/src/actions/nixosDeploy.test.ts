import { join } from 'node:path';
import { InputError } from '@backstage/errors';
import { readFlakeFiles, SshConnection } from '@fediversity/plugin-fediversity-node';
import { actionContext, outputsOf } from '../__testUtils__/actionContext';
import { MemoryCheckpointStore } from '../__testUtils__/checkpointStore';
import { SimulatorHarness, startSimulatorHarness } from '../__testUtils__/simulatorHarness';
import { FediversityActionDeps } from './deps';
import { createNixosDeployAction } from './nixosDeploy';

jest.setTimeout(60_000);

const NIX_DIR = join(__dirname, '../../../../nix');

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
    flakeFiles: () => readFlakeFiles(NIX_DIR),
  };
}

async function demoGuest(vmid: number) {
  const endpoint = await h.guestAccess.prepare(h.clusters.get('demo'), { vmid, hostname: 'social', ipv4: '10.10.0.50/16' });
  return { host: endpoint.host, port: endpoint.port, username: endpoint.username, hostKey: endpoint.hostKey! };
}

async function onGuest<T>(target: Awaited<ReturnType<typeof demoGuest>>, fn: (c: SshConnection) => Promise<T>) {
  const { privateKey } = await h.guestAccess.clientKey(h.clusters.get('demo'));
  const connection = await SshConnection.connect({ ...target, privateKey });
  try {
    return await fn(connection);
  } finally {
    connection.close();
  }
}

const generations = (target: Awaited<ReturnType<typeof demoGuest>>) =>
  onGuest(target, async c => JSON.parse((await c.run(['nixos-rebuild', 'list-generations', '--json'])).stdout));

describe('fediversity:nixos:deploy', () => {
  it('uploads the flake and the host description, switches, and streams the output', async () => {
    const target = await demoGuest(901);
    const store = new MemoryCheckpointStore();
    const input = { ...target, hostname: 'social', domain: 'social.example.org', app: 'mastodon', appOptions: { streamingProcesses: 2 } };
    const ctx = actionContext(input, store);
    await createNixosDeployAction(deps()).handler(ctx);

    const out = outputsOf(ctx);
    expect(out.flakeRef).toBe('/etc/nixos#social');
    expect(out.files).toBeGreaterThan(5);
    const hostJson = await onGuest(target, async c => JSON.parse((await c.readFile('/etc/nixos/hosts/social.json')).toString()));
    expect(hostJson).toMatchObject({
      app: 'mastodon',
      domain: 'social.example.org',
      appOptions: { streamingProcesses: 2, singleUserMode: false },
      acmeStaging: true,
      sshAuthorizedKeys: [(await h.guestAccess.clientKey(h.clusters.get('demo'))).publicKey],
    });
    expect(await generations(target)).toEqual([expect.objectContaining({ generation: 1, current: true })]);
    expect(ctx.logger.info).toHaveBeenCalledWith(expect.stringContaining('[demo host] recorded generation 1'));

    // Replayed after a crash: both effects are recorded, nothing runs again.
    await createNixosDeployAction(deps()).handler(actionContext(input, store));
    expect(await generations(target)).toHaveLength(1);
    expect([...store.runs.values()]).toEqual([1, 1]);
  });

  it('fails with the tail of the output when the switch fails', async () => {
    const target = await demoGuest(902);
    const ctx = actionContext(
      { ...target, hostname: 'social', domain: 'social.example.org', app: 'mastodon', flakeDir: '/srv/flake' },
      new MemoryCheckpointStore(),
    );
    const noFlake: FediversityActionDeps = { ...deps(), flakeFiles: async () => [] };
    await expect(createNixosDeployAction(noFlake).handler(ctx)).rejects.toThrow(
      /nixos-rebuild switch failed \(exit 1\); last lines:\nerror: path '\/srv\/flake\/flake.nix' does not exist/,
    );
  });

  it('refuses invalid or hostile input before touching the guest, naming the fields', async () => {
    const target = await demoGuest(903);
    const ctx = actionContext(
      { ...target, hostname: 'social', domain: 'x.org"; rm -rf /', app: 'mastodon', appOptions: { evil: '${builtins.exec}' } },
      new MemoryCheckpointStore(),
    );
    const run = createNixosDeployAction(deps()).handler(ctx);
    await expect(run).rejects.toBeInstanceOf(InputError);
    await expect(run).rejects.toThrow(/domain: must be a lower-case DNS name.*appOptions: Unrecognized key/);
    expect(await generations(target)).toEqual([]);
  });

  it('dry run renders and validates but changes nothing', async () => {
    const target = await demoGuest(904);
    const store = new MemoryCheckpointStore();
    const ctx = actionContext({ ...target, hostname: 'social', domain: 'social.example.org', app: 'nextcloud' }, store, { isDryRun: true });
    await createNixosDeployAction(deps()).handler(ctx);
    expect(outputsOf(ctx).configSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(store.states.size).toBe(0);
    expect(await generations(target)).toEqual([]);
  });
});
