import { isIPv4, isIPv6 } from 'node:net';
import { InputError } from '@backstage/errors';
import { DNS_RECORD_TYPES, type DnsRecordSet, type DnsRecordSetKey, type DnsRecordType } from './types';

/*
 * Validation of everything a provider sends. The RFC 2136 provider writes these strings into an
 * nsupdate script line by line, so nothing may contain a line break or anything outside the
 * per-type grammar; the checks are strict allow-lists, not escaping.
 */

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Owner names may also carry `_service` style labels (SRV, ACME, DKIM). */
const OWNER_LABEL = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;
const MAX_TTL = 7 * 24 * 3600;

function fail(message: string): never {
  throw new InputError(message);
}

function checkLabels(name: string, label: RegExp, what: string, original: string): void {
  if (name.length === 0 || name.length > 253) fail(`Invalid ${what} ${JSON.stringify(original)}: bad length`);
  for (const part of name.split('.')) {
    if (!label.test(part)) fail(`Invalid ${what} ${JSON.stringify(original)}: bad label ${JSON.stringify(part)}`);
  }
}

/** `Example.org` → `example.org.` */
export function normalizeZone(zone: string): string {
  if (typeof zone !== 'string') fail('Zone must be a string');
  const bare = zone.toLowerCase().replace(/\.$/, '');
  checkLabels(bare, HOST_LABEL, 'zone', zone);
  return `${bare}.`;
}

/** A host name used as record data (CNAME/MX/SRV targets): always absolute, returned with `.`. */
export function normalizeTargetName(name: string, what = 'target name'): string {
  if (typeof name !== 'string') fail(`Invalid ${what}`);
  const bare = name.toLowerCase().replace(/\.$/, '');
  checkLabels(bare, OWNER_LABEL, what, name);
  return `${bare}.`;
}

/** `www`, `@`, `www.example.org.` → `www.example.org.`; names outside the zone are refused. */
export function normalizeRecordName(zone: string, name: string): string {
  const zoneName = normalizeZone(zone);
  if (typeof name !== 'string') fail('Record name must be a string');
  const lower = name.toLowerCase();
  let absolute: string;
  if (lower === '@' || lower === '') absolute = zoneName;
  else if (lower.endsWith('.')) absolute = lower;
  else absolute = `${lower}.${zoneName}`;
  if (absolute !== zoneName && !absolute.endsWith(`.${zoneName}`)) {
    fail(`Record name ${JSON.stringify(name)} is not inside zone ${zoneName}`);
  }
  const bare = absolute.slice(0, -1);
  const [first, ...rest] = bare.split('.');
  // A wildcard is allowed as the leftmost label only.
  checkLabels(first === '*' ? rest.join('.') : bare, OWNER_LABEL, 'record name', name);
  return absolute;
}

function uint(text: string, max: number, what: string, value: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > max) fail(`Invalid ${what} in ${JSON.stringify(value)}`);
  return Number(text);
}

/** One TXT character-string: printable ASCII with `\"`, `\\` and `\DDD` escapes, ≤ 255 bytes. */
const TXT_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\]|\\\d{3})*)"$/;

function checkTxt(value: string): string {
  const strings = value.match(/"(?:[^"\\]|\\.)*"/g);
  if (!strings || strings.join(' ') !== value) {
    fail(`Invalid TXT value ${JSON.stringify(value.slice(0, 80))}: expected "…" strings separated by single spaces`);
  }
  for (const s of strings) {
    const match = TXT_STRING.exec(s);
    if (!match) fail(`Invalid TXT string ${JSON.stringify(s.slice(0, 80))}: printable ASCII and \\" \\\\ \\DDD only`);
    const length = match[1].replace(/\\\d{3}|\\./g, 'x').length;
    if (length > 255) fail('TXT strings are at most 255 bytes; use txtRecordValue to split');
    for (const escape of match[1].match(/\\\d{3}/g) ?? []) {
      if (Number(escape.slice(1)) > 255) fail(`Invalid TXT escape ${escape}`);
    }
  }
  return value;
}

/** Checks one value against its type's grammar and returns the canonical presentation form. */
export function normalizeRecordValue(type: DnsRecordType, value: string): string {
  // eslint-disable-next-line no-control-regex -- record values are user input: control characters must be refused
  if (typeof value !== 'string' || /[\0-\x1f\x7f]/.test(value)) {
    fail(`Invalid ${type} value: control characters are not allowed`);
  }
  const fields = value.trim().split(/ +/);
  switch (type) {
    case 'A':
      if (!isIPv4(value)) fail(`Invalid A value ${JSON.stringify(value)}`);
      return value;
    case 'AAAA':
      if (!isIPv6(value) || value.includes('%')) fail(`Invalid AAAA value ${JSON.stringify(value)}`);
      return value.toLowerCase();
    case 'CNAME':
      return normalizeTargetName(value, 'CNAME target');
    case 'MX':
      if (fields.length !== 2) fail(`Invalid MX value ${JSON.stringify(value)}: expected "<preference> <host>"`);
      return `${uint(fields[0], 65535, 'MX preference', value)} ${normalizeTargetName(fields[1], 'MX host')}`;
    case 'SRV': {
      if (fields.length !== 4) fail(`Invalid SRV value ${JSON.stringify(value)}: expected "<priority> <weight> <port> <target>"`);
      const [priority, weight, port] = fields.slice(0, 3).map((f, i) =>
        uint(f, 65535, ['SRV priority', 'SRV weight', 'SRV port'][i], value),
      );
      const targetName = fields[3] === '.' ? '.' : normalizeTargetName(fields[3], 'SRV target');
      return `${priority} ${weight} ${port} ${targetName}`;
    }
    case 'CAA': {
      const match = /^(\d{1,3}) ([a-z0-9]{1,15}) "([\x20\x21\x23-\x5b\x5d-\x7e]{0,255})"$/i.exec(value.trim());
      if (!match) fail(`Invalid CAA value ${JSON.stringify(value)}: expected '<flags> <tag> "<value>"'`);
      return `${uint(match[1], 255, 'CAA flags', value)} ${match[2].toLowerCase()} "${match[3]}"`;
    }
    case 'TXT':
      return checkTxt(value);
    default:
      return fail(`Record type ${JSON.stringify(type)} is not allowed (allowed: ${DNS_RECORD_TYPES.join(', ')})`);
  }
}

/** Raw text → TXT presentation form: escaped, non-ASCII as `\DDD`, split into 255-byte strings. */
export function txtRecordValue(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const strings: string[] = [];
  for (let start = 0; start === 0 || start < bytes.length; start += 255) {
    let out = '';
    for (const byte of bytes.subarray(start, start + 255)) {
      if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
      else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
      else out += `\\${String(byte).padStart(3, '0')}`;
    }
    strings.push(`"${out}"`);
    if (bytes.length === 0) break;
  }
  return strings.join(' ');
}

export function assertRecordType(type: unknown): DnsRecordType {
  if (typeof type === 'string' && (DNS_RECORD_TYPES as readonly string[]).includes(type)) {
    return type as DnsRecordType;
  }
  return fail(`Record type ${JSON.stringify(type)} is not allowed (allowed: ${DNS_RECORD_TYPES.join(', ')})`);
}

/** Validates a batch for upsert and returns it normalised (absolute names, canonical values). */
export function normalizeRecordSets(zone: string, recordSets: DnsRecordSet[]): DnsRecordSet[] {
  if (!Array.isArray(recordSets)) fail('Record sets must be an array');
  const seen = new Map<string, DnsRecordType[]>();
  const normalized = recordSets.map(set => {
    const type = assertRecordType(set.type);
    const name = normalizeRecordName(zone, set.name);
    if (!Number.isInteger(set.ttl) || set.ttl < 1 || set.ttl > MAX_TTL) {
      fail(`Invalid TTL ${set.ttl} for ${name} ${type}: expected 1-${MAX_TTL}`);
    }
    if (!Array.isArray(set.values) || set.values.length === 0 || set.values.length > 100) {
      fail(`${name} ${type} needs 1-100 values (use deleteRecords to remove an RRset)`);
    }
    const values = [...new Set(set.values.map(v => normalizeRecordValue(type, v)))];
    if (type === 'CNAME' && values.length !== 1) fail(`${name} CNAME must have exactly one value`);
    const types = seen.get(name) ?? [];
    if (types.includes(type)) fail(`${name} ${type} appears twice in one batch`);
    if ((type === 'CNAME' && types.length > 0) || types.includes('CNAME')) {
      fail(`${name} cannot have a CNAME and other records`);
    }
    seen.set(name, [...types, type]);
    return { name, type, ttl: set.ttl, values };
  });
  return normalized;
}

export function normalizeRecordSetKeys(zone: string, keys: DnsRecordSetKey[]): DnsRecordSetKey[] {
  if (!Array.isArray(keys)) fail('Record sets must be an array');
  return keys.map(key => ({ name: normalizeRecordName(zone, key.name), type: assertRecordType(key.type) }));
}
