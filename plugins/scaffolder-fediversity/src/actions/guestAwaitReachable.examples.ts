import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const examples: TemplateExample[] = [
  {
    description: 'Wait for the guest the previous step created and pin its SSH host key.',
    example: `steps:
  - id: reachable
    action: fediversity:guest:awaitReachable
    name: Wait until the guest answers over SSH
    input:
      node: \${{ steps.guest.output.node }}
      vmid: \${{ steps.guest.output.vmid }}
      hostname: social
      timeoutSeconds: 300
`,
  },
];
