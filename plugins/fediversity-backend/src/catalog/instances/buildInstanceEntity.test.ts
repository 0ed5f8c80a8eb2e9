import { validateFediversityEntity } from '@fediversity/plugin-fediversity-common';
import type { InstanceRecord } from '../../instances/types';
import { buildInstanceEntity } from './buildInstanceEntity';

const record: InstanceRecord = {
  id: '3f1c9a52-7d1e-4c6b-9a0e-5b2f8d4e6a10',
  name: 'mastodon-social-example-org',
  app: 'component:default/mastodon',
  owner: 'group:default/social-team',
  domain: 'social.example.org',
  os: 'nixos',
  cluster: 'demo',
  node: 'pve-a',
  vmid: 104,
  storage: 'local-zfs',
  storageShared: false,
  coreServices: ['component:default/bind9', 'component:default/openbao'],
  flakeRef: '/etc/nixos#social',
  ipv4: '10.10.0.104',
  ssh: {
    host: '10.10.0.104',
    port: 22,
    username: 'root',
    hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
    hostKeyFingerprint: `SHA256:${'a'.repeat(43)}`,
    trust: 'tofu',
  },
  demo: true,
  taskId: 'task-1',
  guestRef: 'resource:default/demo-ct-104',
  storageRef: 'resource:default/demo-pve-a-local-zfs',
  formerGuests: [],
  createdBy: 'user:default/alice',
  createdAt: '2026-11-25T22:00:00.000Z',
  updatedAt: '2026-11-25T22:00:00.000Z',
};

describe('buildInstanceEntity', () => {
  it('makes a valid instance Component that depends on its guest, storage and core services', () => {
    const entity = buildInstanceEntity(record);
    expect(validateFediversityEntity(entity)).toEqual({ role: 'instance', issues: [] });
    expect(entity.spec).toEqual({
      type: 'service',
      lifecycle: 'production',
      owner: 'group:default/social-team',
      dependsOn: [
        'resource:default/demo-ct-104',
        'resource:default/demo-pve-a-local-zfs',
        'component:default/bind9',
        'component:default/openbao',
      ],
    });
    expect(entity.metadata.annotations).toMatchObject({
      'fediversity.eu/app': 'component:default/mastodon',
      'fediversity.eu/instance-id': record.id,
      'fediversity.eu/vmid': '104',
      'fediversity.eu/flake': '/etc/nixos#social',
      'fediversity.eu/demo': 'true',
      'backstage.io/managed-by-location': 'fediversity-instances:default',
    });
  });

  it('keeps SSH details, addresses and the creator out of the catalog', () => {
    const text = JSON.stringify(buildInstanceEntity(record));
    expect(text).not.toContain(record.ssh!.hostKey);
    expect(text).not.toContain('10.10.0.104');
    expect(text).not.toContain('alice');
  });
});
