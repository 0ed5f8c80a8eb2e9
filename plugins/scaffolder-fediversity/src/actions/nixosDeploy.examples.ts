import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const examples: TemplateExample[] = [
  {
    description: 'Deploy Mastodon to the guest the earlier steps created and reached.',
    example: `steps:
  - id: deploy
    action: fediversity:nixos:deploy
    name: Deploy the NixOS configuration
    input:
      host: \${{ steps.reachable.output.host }}
      port: \${{ steps.reachable.output.port }}
      username: \${{ steps.reachable.output.username }}
      hostKey: \${{ steps.reachable.output.hostKey }}
      hostname: social
      domain: social.example.org
      app: mastodon
      appOptions:
        singleUserMode: false
`,
  },
];
