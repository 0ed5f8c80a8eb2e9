import { RootConfigService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { normalizeZone } from './records';
import { PowerDnsProvider } from './PowerDnsProvider';
import { Rfc2136DnsProvider, TSIG_ALGORITHMS, TsigKey } from './Rfc2136DnsProvider';
import { DnsProvider } from './types';

/** The DNS provider instance records and cut-overs go through, and the zones it may write. */
export interface DnsSetup {
  provider: DnsProvider;
  /** Normalised zone names (no trailing dot), longest first so the most specific zone wins. */
  zones: string[];
  ttl: number;
  /** `rfc2136` or `powerdns`, for messages. */
  kind: string;
}

/**
 * Reads `fediversity.dns` once (the scaffolder's DNS actions and the migration's cut-over share it). Absent
 * means "no DNS provider" (the embedded default). Errors name the key and never echo a secret.
 */
export function readDnsConfig(config: RootConfigService): DnsSetup | undefined {
  const dns = config.getOptionalConfig('fediversity.dns');
  if (!dns) return undefined;
  const kind = dns.getString('provider');
  const zones = dns
    .getStringArray('zones')
    .map(zone => normalizeZone(zone).replace(/\.$/, ''))
    .sort((a, b) => b.length - a.length);
  if (!zones.length) throw new InputError('fediversity.dns.zones must list at least one zone');
  const ttl = dns.getOptionalNumber('ttl') ?? 300;
  let provider: DnsProvider;
  if (kind === 'rfc2136') {
    const settings = dns.getConfig('rfc2136');
    const algorithm = settings.getOptionalString('tsig.algorithm') ?? 'hmac-sha256';
    if (!(TSIG_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new InputError(`fediversity.dns.rfc2136.tsig.algorithm must be one of ${TSIG_ALGORITHMS.join(', ')}`);
    }
    provider = new Rfc2136DnsProvider({
      server: settings.getString('server'),
      port: settings.getOptionalNumber('port'),
      tsig: {
        name: settings.getString('tsig.name'),
        algorithm: algorithm as TsigKey['algorithm'],
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
  return { provider, zones, ttl, kind };
}

/** The configured zone a domain lies in (the most specific), or undefined. */
export function zoneOf(domain: string, zones: string[]): string | undefined {
  return zones.find(zone => domain === zone || domain.endsWith(`.${zone}`));
}
