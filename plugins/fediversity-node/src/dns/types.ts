export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

/**
 * One RRset. `name` is relative to the zone (`www`, `@` for the apex) or absolute with a trailing
 * dot inside the zone. `values` are in zone-file presentation form: `192.0.2.1`, `10 mx.example.org.`,
 * `"v=spf1 -all"` (build TXT values with `txtRecordValue`). Target names are always absolute.
 */
export interface DnsRecordSet {
  name: string;
  type: DnsRecordType;
  ttl: number;
  values: string[];
}

export interface DnsRecordSetKey {
  name: string;
  type: DnsRecordType;
}

/** A DNS backend the portal writes instance records through. */
export interface DnsProvider {
  /** Replaces each RRset (name + type) with exactly the given values, in one atomic update where possible. */
  upsertRecords(zone: string, recordSets: DnsRecordSet[]): Promise<void>;
  /** Removes each RRset (name + type); removing an absent RRset is not an error. */
  deleteRecords(zone: string, recordSets: DnsRecordSetKey[]): Promise<void>;
  /** The RRsets of the allowed types at one name (names returned absolute, with trailing dot). */
  listRecords?(zone: string, name: string): Promise<DnsRecordSet[]>;
}
