import { RootConfigService } from '@backstage/backend-plugin-api';
import { normalizeZone, readDnsConfig } from '@fediversity/plugin-fediversity-node';
import { DnsProviderLookup } from './dnsCutOver';

/**
 * The DNS provider for cut-overs from `fediversity.dns`, read as the scaffolder module reads it; it answers
 * only for a zone configured there by name. Undefined when DNS is not configured.
 */
export function readMigrationDns(config: RootConfigService): DnsProviderLookup | undefined {
  const setup = readDnsConfig(config);
  if (!setup) return undefined;
  return zone => (setup.zones.includes(normalizeZone(zone).replace(/\.$/, '')) ? setup.provider : undefined);
}
