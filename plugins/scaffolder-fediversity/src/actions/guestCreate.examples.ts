import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const examples: TemplateExample[] = [
  {
    description: 'A NixOS container with the defaults: the node with the most free memory, its roomiest storage.',
    example: `steps:
  - id: guest
    action: fediversity:guest:create
    name: Create the guest
    input:
      hostname: social
`,
  },
  {
    description: 'A Debian container on a chosen node and storage, with more resources.',
    example: `steps:
  - id: guest
    action: fediversity:guest:create
    name: Create a Debian guest
    input:
      hostname: mail
      os: linux
      node: pve-b
      storage: local-zfs
      template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
      cores: 4
      memoryMiB: 4096
      diskGiB: 32
      tags: [app-maddy, owner-platform-team]
`,
  },
];
