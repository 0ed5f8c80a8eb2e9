import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const examples: TemplateExample[] = [
  {
    description: 'Enqueue the first backup of the instance the template just recorded.',
    example: `steps:
  - id: backup
    action: fediversity:backup:schedule
    name: Schedule the first backup
    input:
      entityRef: \${{ steps.register.output.entityRef }}
      node: \${{ steps.guest.output.node }}
      vmid: \${{ steps.guest.output.vmid }}
`,
  },
];
