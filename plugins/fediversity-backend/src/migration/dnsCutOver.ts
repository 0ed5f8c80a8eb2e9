import { DnsProvider, normalizeRecordName } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { MigrationParams } from './params';

export type DnsProviderLookup = (zone: string) => DnsProvider | undefined;

type DnsParams = NonNullable<MigrationParams['dns']>;

function providerFor(lookup: DnsProviderLookup | undefined, dns: { zone: string }): DnsProvider {
  const provider = lookup?.(dns.zone);
  if (!provider) throw new PermanentJobError(`No DNS provider is configured for zone ${dns.zone}`);
  return provider;
}

/** Points the instance's name at the target (one RRset replaced atomically). */
export async function pointDnsAtTarget(lookup: DnsProviderLookup | undefined, dns: DnsParams): Promise<void> {
  await providerFor(lookup, dns).upsertRecords(dns.zone, [
    { name: dns.name, type: dns.type, ttl: dns.ttl, values: [dns.targetAddress] },
  ]);
}

/** True when the name already resolves to exactly the target at the provider (check before acting). */
export async function dnsPointsAtTarget(lookup: DnsProviderLookup | undefined, dns: DnsParams): Promise<boolean> {
  const provider = providerFor(lookup, dns);
  if (!provider.listRecords) return false;
  const records = await provider.listRecords(dns.zone, dns.name);
  const wanted = normalizeRecordName(dns.zone, dns.name);
  return records.some(
    record =>
      record.type === dns.type &&
      normalizeRecordName(dns.zone, record.name) === wanted &&
      record.values.length === 1 &&
      record.values[0] === dns.targetAddress,
  );
}

/** Preflight: the provider answers for the zone, and the current TTL is low enough for a quick cut-over. */
export async function checkDns(lookup: DnsProviderLookup | undefined, dns: Omit<DnsParams, 'targetAddress'>) {
  const provider = providerFor(lookup, dns);
  const current = provider.listRecords ? await provider.listRecords(dns.zone, dns.name) : [];
  const record = current.find(candidate => candidate.type === dns.type);
  return { dnsCurrentTtl: record?.ttl, dnsCurrentValues: record?.values ?? [] };
}
