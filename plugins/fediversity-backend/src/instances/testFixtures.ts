import { CreateInstanceRequest } from './types';

/** A valid request, as provisioning sends it for a Mastodon instance on the demo cluster. */
export const mastodonRequest: CreateInstanceRequest = {
  idempotencyKey: 'task-1:mastodon-social-example-org',
  name: 'mastodon-social-example-org',
  app: 'component:default/mastodon',
  owner: 'group:default/social-team',
  domain: 'social.example.org',
  os: 'nixos',
  cluster: 'demo',
  node: 'pve-a',
  vmid: 104,
  storage: 'local-zfs',
  coreServices: ['component:default/bind9', 'component:default/openbao'],
  flakeRef: '/etc/nixos#social',
  ipv4: '10.10.0.104',
  demo: true,
  taskId: 'task-1',
};
