import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const examples: TemplateExample[] = [
  {
    description: 'Point the domain at the guest’s address (A record) in the managed zone it belongs to.',
    example: `steps:
  - id: dns
    action: fediversity:dns:records
    name: Create the DNS records
    input:
      domain: social.example.org
      ipv4: \${{ steps.reachable.output.ipv4 }}
`,
  },
  {
    description: 'With an IPv6 address and a shorter TTL.',
    example: `steps:
  - id: dns
    action: fediversity:dns:records
    name: Create the DNS records
    input:
      domain: cloud.example.org
      ipv4: 192.0.2.10
      ipv6: 2001:db8::10
      ttl: 60
`,
  },
];
