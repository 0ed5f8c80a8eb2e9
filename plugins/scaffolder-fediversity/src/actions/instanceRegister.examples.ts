import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const examples: TemplateExample[] = [
  {
    description: 'Record a Mastodon instance with its guest, storage and core services, so the catalog shows it.',
    example: `steps:
  - id: register
    action: fediversity:instance:register
    name: Record the instance
    input:
      app: mastodon
      owner: group:default/social-team
      domain: social.example.org
      node: \${{ steps.guest.output.node }}
      vmid: \${{ steps.guest.output.vmid }}
      storage: \${{ steps.guest.output.storage }}
      storageShared: \${{ steps.guest.output.storageShared }}
      coreServices: [component:default/bind9, component:default/openbao]
      flakeRef: \${{ steps.deploy.output.flakeRef }}
      ipv4: \${{ steps.reachable.output.ipv4 }}
`,
  },
];
