import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { DnsProvider, normalizeZone, PowerDnsProvider, Rfc2136DnsProvider, TsigKey } from '@fediversity/plugin-fediversity-node';
import { DnsProviderLookup } from './dnsCutOver';

/**
 * The DNS provider for cut-overs from `fediversity.dns` (the same keys the scaffolder module reads:
 * provider rfc2136 | powerdns, zones, and the provider's settings). Undefined when DNS is not configured.
 */
export function readMigrationDns(config: Config): DnsProviderLookup | undefined {
  const dns = config.getOptionalConfig('fediversity.dns');
  if (!dns) return undefined;
  const zones = dns.getStringArray('zones').map(zone => normalizeZone(zone));
  let provider: DnsProvider;
  const kind = dns.getString('provider');
  if (kind === 'rfc2136') {
    const settings = dns.getConfig('rfc2136');
    provider = new Rfc2136DnsProvider({
      server: settings.getString('server'),
      port: settings.getOptionalNumber('port'),
      tsig: {
        name: settings.getString('tsig.name'),
        algorithm: (settings.getOptionalString('tsig.algorithm') ?? 'hmac-sha256') as TsigKey['algorithm'],
        secret: settings.getString('tsig.secret'),
      },
    });
  } else if (kind === 'powerdns') {
    const settings = dns.getConfig('powerdns');
    provider = new PowerDnsProvider({
      baseUrl: settings.getString('baseUrl'),
      apiKey: settings.getString('apiKey'),
      serverId: settings.getOptionalString('serverId'),
    });
  } else {
    throw new InputError(`fediversity.dns.provider must be rfc2136 or powerdns, got ${JSON.stringify(kind)}`);
  }
  return zone => (zones.includes(normalizeZone(zone)) ? provider : undefined);
}
