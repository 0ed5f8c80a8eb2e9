import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { DOMAIN_PATTERN } from '@fediversity/plugin-fediversity-common';
import { DnsRecordSet, zoneOf } from '@fediversity/plugin-fediversity-node';
import { FediversityActionDeps } from './deps';
import { examples } from './dnsRecords.examples';

/** What the step reports when no provider is configured: the embedded default has no DNS server to write to. */
export const DNS_SKIPPED = 'dns: skipped, no provider configured';

export function createDnsRecordsAction(deps: FediversityActionDeps) {
  return createTemplateAction({
    id: 'fediversity:dns:records',
    description:
      'Points the instance’s domain at its guest (A, and AAAA when given) through the configured DNS provider ' +
      '(`fediversity.dns`: RFC 2136 with TSIG, or the PowerDNS HTTP API). Without a provider it records that DNS ' +
      'was skipped.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        domain: z => z.string().regex(DOMAIN_PATTERN, 'must be a lower-case DNS name (punycode)'),
        ipv4: z => z.string().refine(isIPv4, 'must be an IPv4 address'),
        ipv6: z => z.string().refine(isIPv6, 'must be an IPv6 address').optional(),
        ttl: z => z.number().int().min(30).max(86400).optional().describe('Defaults to fediversity.dns.ttl (300)'),
      },
      output: {
        status: z => z.enum(['updated', 'skipped', 'dry-run']),
        zone: z => z.string().optional(),
        records: z => z.array(z.object({ name: z.string(), type: z.string(), ttl: z.number(), values: z.array(z.string()) })),
        reason: z => z.string().optional(),
      },
    },
    async handler(ctx) {
      const { input } = ctx;
      const dns = deps.dns;
      if (!dns) {
        ctx.logger.warn(`${DNS_SKIPPED}: ${input.domain} was not pointed at ${input.ipv4}`);
        if (!ctx.isDryRun) {
          await ctx.checkpoint({ key: `dns.${input.domain}.skipped`, fn: async () => ({ reason: DNS_SKIPPED }) });
        }
        ctx.output('status', 'skipped');
        ctx.output('records', []);
        ctx.output('reason', DNS_SKIPPED);
        return;
      }
      const zone = zoneOf(input.domain, dns.zones);
      if (!zone) {
        throw new InputError(
          `domain: ${input.domain} is in none of the zones the portal manages (${dns.zones.join(', ')})`,
        );
      }
      const name = input.domain === zone ? '@' : input.domain.slice(0, -(zone.length + 1));
      const ttl = input.ttl ?? dns.ttl;
      const records: DnsRecordSet[] = [{ name, type: 'A', ttl, values: [input.ipv4] }];
      if (input.ipv6) records.push({ name, type: 'AAAA', ttl, values: [input.ipv6] });
      const summary = records.map(r => `${r.name} ${r.type} ${r.values.join(',')}`).join('; ');

      if (ctx.isDryRun) {
        ctx.logger.info(`Dry run: would set ${summary} in zone ${zone} via ${dns.kind}`);
        ctx.output('status', 'dry-run');
      } else {
        const digest = createHash('sha256').update(JSON.stringify(records)).digest('hex').slice(0, 16);
        await ctx.checkpoint({
          key: `dns.${zone}.${input.domain}.${digest}`,
          fn: async () => {
            ctx.signal?.throwIfAborted();
            await dns.provider.upsertRecords(zone, records);
            ctx.logger.info(`DNS (${dns.kind}): set ${summary} in zone ${zone}`);
          },
        });
        ctx.output('status', 'updated');
      }
      ctx.output('zone', zone);
      ctx.output('records', records);
    },
  });
}
