import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const examples: TemplateExample[] = [
  {
    description: 'Replicate every data class of the app definition hourly, towards the configured replication target.',
    example: `steps:
  - id: replication
    action: fediversity:replication:schedule
    name: Schedule replication
    input:
      entityRef: \${{ steps.register.output.entityRef }}
      app: component:default/mastodon
      vmid: \${{ steps.guest.output.vmid }}
      ipv4: \${{ steps.reachable.output.ipv4 }}
      ssh:
        host: \${{ steps.reachable.output.host }}
        port: \${{ steps.reachable.output.port }}
        username: \${{ steps.reachable.output.username }}
        hostKey: \${{ steps.reachable.output.hostKey }}
      intervalSeconds: 3600
`,
  },
  {
    description: 'A bare guest: copy /srv every 15 minutes to a given target.',
    example: `steps:
  - id: replication
    action: fediversity:replication:schedule
    name: Schedule replication
    input:
      entityRef: resource:default/demo-ct-101
      directories: [/srv]
      vmid: \${{ steps.guest.output.vmid }}
      ssh:
        host: \${{ steps.reachable.output.host }}
        port: \${{ steps.reachable.output.port }}
        username: \${{ steps.reachable.output.username }}
        hostKey: \${{ steps.reachable.output.hostKey }}
      intervalSeconds: 900
      target:
        host: replica.example.net
        username: replica
        hostPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl
        root: /srv/replicas
`,
  },
];
