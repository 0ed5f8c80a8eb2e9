import { InputError, NotAllowedError } from '@backstage/errors';
import { assertHostname, assertPort } from '../ssh/identifiers';
import {
  normalizeRecordName,
  normalizeRecordSetKeys,
  normalizeRecordSets,
  normalizeTargetName,
  normalizeZone,
} from './records';
import { runProcess, type ProcessRunner } from './runProcess';
import { DNS_RECORD_TYPES, type DnsProvider, type DnsRecordSet, type DnsRecordSetKey, type DnsRecordType } from './types';

export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;

export interface TsigKey {
  name: string;
  algorithm: (typeof TSIG_ALGORITHMS)[number];
  /** Base64, as `tsig-keygen` prints it. */
  secret: string;
}

export interface Rfc2136DnsProviderOptions {
  /** The primary that accepts updates (IP or host name). */
  server: string;
  port?: number;
  tsig: TsigKey;
  timeoutMs?: number;
  nsupdatePath?: string;
  digPath?: string;
  /** Injected for tests of failure paths; defaults to spawning without a shell. */
  runner?: ProcessRunner;
}

/**
 * RFC 2136 dynamic updates signed with TSIG, sent by BIND's `nsupdate` (the reference
 * implementation, in Debian's bind9-dnsutils) rather than a hand-written DNS UPDATE + TSIG encoder:
 * the wire format and MAC handling are then BIND's tested code, at the cost of one short process per
 * batch. The script goes to nsupdate's stdin and carries the key too (`key alg:name secret`), so
 * the secret appears in neither argv nor a file. Every line is built from validated fields only.
 */
export class Rfc2136DnsProvider implements DnsProvider {
  private readonly server: string;
  private readonly port: number;
  private readonly tsig: TsigKey;
  private readonly timeoutMs: number;
  private readonly runner: ProcessRunner;

  constructor(private readonly options: Rfc2136DnsProviderOptions) {
    this.server = assertHostname(options.server, 'DNS server');
    this.port = assertPort(options.port ?? 53, 'DNS port');
    const { tsig } = options;
    if (!(TSIG_ALGORITHMS as readonly string[]).includes(tsig?.algorithm)) {
      throw new InputError(`TSIG algorithm must be one of ${TSIG_ALGORITHMS.join(', ')}`);
    }
    normalizeTargetName(tsig.name, 'TSIG key name');
    if (!/^[A-Za-z0-9+/]{16,}={0,2}$/.test(tsig.secret ?? '')) {
      throw new InputError('TSIG secret must be base64 (at least 16 characters)');
    }
    this.tsig = tsig;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.runner = options.runner ?? runProcess;
  }

  async upsertRecords(zone: string, recordSets: DnsRecordSet[]): Promise<void> {
    const zoneName = normalizeZone(zone);
    const sets = normalizeRecordSets(zone, recordSets);
    if (sets.length === 0) return;
    const lines = sets.flatMap(set => [
      `update delete ${set.name} ${set.type}`,
      ...set.values.map(value => `update add ${set.name} ${set.ttl} ${set.type} ${value}`),
    ]);
    await this.send(zoneName, lines);
  }

  async deleteRecords(zone: string, recordSets: DnsRecordSetKey[]): Promise<void> {
    const zoneName = normalizeZone(zone);
    const keys = normalizeRecordSetKeys(zone, recordSets);
    if (keys.length === 0) return;
    await this.send(zoneName, keys.map(key => `update delete ${key.name} ${key.type}`));
  }

  /** Plain (unsigned) queries to the same server: the answers are public data anyway. */
  async listRecords(zone: string, name: string): Promise<DnsRecordSet[]> {
    const owner = normalizeRecordName(zone, name);
    const argv = [
      this.options.digPath ?? 'dig',
      `@${this.server}`,
      '-p', String(this.port),
      '+tcp', '+norecurse', '+noall', '+answer', '+time=5', '+tries=2',
      ...DNS_RECORD_TYPES.flatMap(type => [owner, type]),
    ];
    const result = await this.runner(argv, { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) {
      throw new Error(`dig against ${this.server}:${this.port} failed: ${result.stderr.trim() || result.stdout.trim()}`);
    }
    const byType = new Map<DnsRecordType, DnsRecordSet>();
    for (const line of result.stdout.split('\n')) {
      const match = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line.trim());
      if (!match || match[1].toLowerCase() !== owner) continue;
      const type = match[3] as DnsRecordType;
      if (!(DNS_RECORD_TYPES as readonly string[]).includes(type)) continue;
      const set = byType.get(type) ?? { name: owner, type, ttl: Number(match[2]), values: [] };
      if (!set.values.includes(match[4])) set.values.push(match[4]);
      byType.set(type, set);
    }
    return [...byType.values()];
  }

  private async send(zoneName: string, updateLines: string[]): Promise<void> {
    const script = [
      `server ${this.server} ${this.port}`,
      `zone ${zoneName}`,
      `key ${this.tsig.algorithm}:${this.tsig.name} ${this.tsig.secret}`,
      ...updateLines,
      'send',
      '',
    ].join('\n');
    const result = await this.runner(
      [this.options.nsupdatePath ?? 'nsupdate', '-v', '-t', String(Math.ceil(this.timeoutMs / 1000))],
      { stdin: script, timeoutMs: this.timeoutMs + 5_000 },
    );
    if (result.exitCode === 0) return;
    const output = `${result.stderr}\n${result.stdout}`
      .split('\n')
      .map(line => line.trim())
      .filter(Boolean)
      .join('; ');
    const where = `DNS server ${this.server}:${this.port}`;
    if (/TSIG|BADSIG|BADKEY|BADTIME|NOTAUTH/.test(output)) {
      throw new NotAllowedError(
        `${where} rejected the TSIG key "${this.tsig.name}" for zone ${zoneName} (${output}); check the key name, algorithm and secret`,
      );
    }
    if (/REFUSED/.test(output)) {
      throw new NotAllowedError(
        `${where} refused the update to zone ${zoneName} (${output}): either the update-policy for key ` +
          `"${this.tsig.name}" does not cover these names, or the server's integrity checks failed ` +
          `(e.g. an MX target inside the zone without an address record)`,
      );
    }
    throw new Error(`DNS update of zone ${zoneName} via ${where} failed: ${output || `exit code ${result.exitCode}`}`);
  }
}
