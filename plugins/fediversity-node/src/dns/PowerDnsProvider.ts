import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  normalizeRecordName,
  normalizeRecordSetKeys,
  normalizeRecordSets,
  normalizeZone,
} from './records';
import { DNS_RECORD_TYPES, type DnsProvider, type DnsRecordSet, type DnsRecordSetKey, type DnsRecordType } from './types';

export interface PowerDnsProviderOptions {
  /** e.g. `http://127.0.0.1:8081` (the PowerDNS webserver). */
  baseUrl: string;
  apiKey: string;
  serverId?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface PdnsRrset {
  name: string;
  type: string;
  ttl: number;
  records: Array<{ content: string; disabled: boolean }>;
}

/**
 * The PowerDNS Authoritative HTTP API: one PATCH per batch on
 * `/api/v1/servers/<server>/zones/<zone>`, which PowerDNS applies in one transaction.
 */
export class PowerDnsProvider implements DnsProvider {
  private readonly baseUrl: string;
  private readonly serverId: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: PowerDnsProviderOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new InputError(`Invalid PowerDNS base URL ${JSON.stringify(options.baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InputError('PowerDNS base URL must be http(s)');
    }
    if (!options.apiKey) throw new InputError('PowerDNS API key is required');
    this.baseUrl = url.toString().replace(/\/+$/, '');
    this.serverId = options.serverId ?? 'localhost';
    if (!/^[A-Za-z0-9_.-]+$/.test(this.serverId)) throw new InputError('Invalid PowerDNS server id');
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  async upsertRecords(zone: string, recordSets: DnsRecordSet[]): Promise<void> {
    const sets = normalizeRecordSets(zone, recordSets);
    if (sets.length === 0) return;
    await this.patch(
      normalizeZone(zone),
      sets.map(set => ({
        name: set.name,
        type: set.type,
        ttl: set.ttl,
        changetype: 'REPLACE',
        records: set.values.map(content => ({ content, disabled: false })),
      })),
    );
  }

  async deleteRecords(zone: string, recordSets: DnsRecordSetKey[]): Promise<void> {
    const keys = normalizeRecordSetKeys(zone, recordSets);
    if (keys.length === 0) return;
    await this.patch(
      normalizeZone(zone),
      keys.map(key => ({ name: key.name, type: key.type, changetype: 'DELETE' })),
    );
  }

  async listRecords(zone: string, name: string): Promise<DnsRecordSet[]> {
    const zoneName = normalizeZone(zone);
    const owner = normalizeRecordName(zone, name);
    const response = await this.request('GET', zoneName);
    const body = (await response.json()) as { rrsets?: PdnsRrset[] };
    return (body.rrsets ?? [])
      .filter(set => set.name.toLowerCase() === owner && (DNS_RECORD_TYPES as readonly string[]).includes(set.type))
      .map(set => ({
        name: owner,
        type: set.type as DnsRecordType,
        ttl: set.ttl,
        values: set.records.filter(r => !r.disabled).map(r => r.content),
      }))
      .filter(set => set.values.length > 0);
  }

  private async patch(zoneName: string, rrsets: object[]): Promise<void> {
    await this.request('PATCH', zoneName, { rrsets });
  }

  private async request(method: string, zoneName: string, body?: object): Promise<Response> {
    const url = `${this.baseUrl}/api/v1/servers/${encodeURIComponent(this.serverId)}/zones/${encodeURIComponent(zoneName)}`;
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        method,
        headers: {
          'X-API-Key': this.options.apiKey,
          Accept: 'application/json',
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new Error(`PowerDNS API at ${this.baseUrl} unreachable: ${(err as Error).message}`);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    let detail = text.slice(0, 500);
    try {
      detail = (JSON.parse(text) as { error?: string }).error ?? detail;
    } catch {
      // not JSON: keep the text
    }
    const what = `PowerDNS ${method} zone ${zoneName}`;
    if (response.status === 401 || response.status === 403) {
      throw new NotAllowedError(`${what}: the API key was refused (HTTP ${response.status})`);
    }
    if (response.status === 404) throw new NotFoundError(`${what}: zone not found (${detail})`);
    if (response.status === 400 || response.status === 422) {
      throw new InputError(`${what} rejected the change: ${detail}`);
    }
    throw new Error(`${what} failed with HTTP ${response.status}: ${detail}`);
  }
}
