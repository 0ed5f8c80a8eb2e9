import { Entity } from '@backstage/catalog-model';
import { ProvisioningBackend, startProvisioningBackend } from './__testUtils__/provisioningBackend';

jest.setTimeout(180_000);

let backend: ProvisioningBackend;
beforeAll(async () => {
  backend = await startProvisioningBackend();
});
afterAll(() => backend?.stop());

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}

const entity = (ref: string) => async () => {
  const [kind, rest] = ref.split(':');
  const [namespace, name] = rest.split('/');
  const { status, body } = await backend.getJson<Entity>(`/api/catalog/entities/by-name/${kind}/${namespace}/${name}`);
  return status === 200 ? body : undefined;
};

const targets = (e: Entity, type: string) => (e.relations ?? []).filter(r => r.type === type).map(r => r.targetRef).sort();

describe('form options', () => {
  it('come from the live cluster through the scaffolder autocomplete endpoint', async () => {
    const ask = async (resource: string, context: Record<string, string> = {}) => {
      const response = await fetch(`${backend.baseUrl}/api/scaffolder/v2/autocomplete/fediversity/${resource}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: 'unused', context }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { results: Array<{ id: string; title?: string }> }).results;
    };
    expect((await ask('nodes')).map(r => r.id).sort()).toEqual(['pve-a', 'pve-b', 'pve-c']);
    expect((await ask('nodes'))[0].title).toMatch(/GiB memory free/);
    expect((await ask('storages', { node: 'pve-a' })).map(r => r.id)).toEqual(['local-zfs', 'local']);
    expect((await ask('templates', { node: 'pve-a' })).map(r => r.id)).toContain('local:vztmpl/nixos-25.05-x86_64-linux.tar.xz');
    expect((await ask('clusters')).map(r => r.title)).toEqual(['demo (demo)']);
  });
});

describe.each([
  { app: 'mastodon', owner: 'group:default/social-team', domain: 'social.example.org', expectedSchedules: [['state', 'rsync', 3600]] },
  {
    app: 'nextcloud',
    owner: 'group:default/collaboration-team',
    domain: 'cloud.example.org',
    // Its state is a zfs-send data class; without the node's dataset it is copied with quiesce + rsync.
    expectedSchedules: [['state', 'rsync', 3600]],
  },
])('the fediversity-$app template', ({ app, owner, domain, expectedSchedules }) => {
  it('runs with just owner and domain and the instance shows up in the catalog with its relations', async () => {
    const task = await backend.runTemplate(`fediversity-${app}`, { owner, domain });
    expect({ status: task.status, log: task.status === 'completed' ? [] : task.log }).toEqual({ status: 'completed', log: [] });
    expect(task.log.join('\n')).toMatch(/\[demo host\] recorded generation 1/);
    expect(task.log.join('\n')).toMatch(/dns: skipped, no provider configured/);

    const name = `${app}-${domain.replace(/\./g, '-')}`;
    const instance = await eventually(`component:default/${name}`, entity(`component:default/${name}`));
    expect(instance.spec).toMatchObject({ type: 'service', owner });
    expect(instance.metadata.annotations).toMatchObject({ 'fediversity.eu/app': `component:default/${app}`, 'fediversity.eu/demo': 'true' });
    const vmid = instance.metadata.annotations!['fediversity.eu/vmid'];
    const node = instance.metadata.annotations!['fediversity.eu/pve-node'];
    const guestRef = `resource:default/demo-ct-${vmid}`;

    const appDefinition = (await entity(`component:default/${app}`)())!;
    const coreServices = (appDefinition.spec!.coreServices as string[]).map(ref => ref.toLowerCase());
    expect(targets(instance, 'ownedBy')).toEqual([owner]);
    expect(targets(instance, 'dependsOn')).toEqual(
      expect.arrayContaining([guestRef, `resource:default/demo-${node}-local-zfs`, `component:default/${app}`, ...coreServices]),
    );

    // instance → guest → node and storage: the guest comes from the Proxmox provider's next refresh.
    const guest = await eventually(guestRef, entity(guestRef));
    expect(guest.spec).toMatchObject({ type: 'lxc-container', owner });
    const guestWithRelations = await eventually('guest relations', async () => {
      const current = await entity(guestRef)();
      return current && targets(current, 'dependsOn').length >= 2 ? current : undefined;
    });
    expect(targets(guestWithRelations, 'dependsOn')).toEqual(
      expect.arrayContaining([`resource:default/demo-${node}`, `resource:default/demo-${node}-local-zfs`]),
    );

    // The first backup was enqueued in the backend's job engine and runs there.
    const backupJob = task.log.join('\n').match(/as job ([0-9a-f-]{36})/)?.[1];
    expect(backupJob).toBeDefined();
    const job = await eventually('the backup job to finish', async () => {
      const { body } = await backend.getJson<{ status: string }>(`/api/fediversity/jobs/${backupJob}`);
      return ['succeeded', 'failed'].includes(body?.status) ? body : undefined;
    });
    expect(job.status).toBe('succeeded');

    // Replication schedules for the app definition's data classes, towards the demo replica host.
    const { status, body } = await backend.getJson<{ items: Array<{ dataClass: string; strategy: string; intervalSeconds: number }> }>(
      `/api/fediversity/replication/schedules?entityRef=${encodeURIComponent(`component:default/${name}`)}`,
    );
    expect(status).toBe(200);
    expect(body.items.map(s => [s.dataClass, s.strategy, s.intervalSeconds])).toEqual(expectedSchedules);
    expect(task.log.join('\n')).toMatch(/replication: database not scheduled: /);
  });
});
