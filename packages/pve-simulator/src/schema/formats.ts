import fs from 'node:fs';
import { PropertyStringFormat } from './types';

/**
 * Named formats (`format: 'pve-node'` etc.). A code format throws an Error whose
 * message is PVE's `die` text (ending in a newline); a hash format is a property
 * string whose sub-keys are defined here because the apidoc only names it.
 * Written from pve-common/pve-container/pve-manager behaviour as documented in
 * reference/proxmox.md; messages marked (approx.) are not checked against PVE.
 */
export type NamedFormat =
  | { kind: 'code'; verify: (value: string) => void }
  | { kind: 'hash'; schema: PropertyStringFormat };

export class FormatFailure extends Error {
  constructor(
    message: string,
    /** Sub-key errors of a property string (`net0.name: ...`). */
    readonly subErrors?: Record<string, string>,
  ) {
    super(message);
  }

  /** PVE::Exception's stringification: message, then `key: msg` lines. */
  render(): string {
    let text = this.message.endsWith('\n') ? this.message : `${this.message}\n`;
    for (const [key, msg] of Object.entries(this.subErrors ?? {})) {
      text += `${key}: ${msg}\n`;
    }
    return text;
  }
}

function fail(message: string): never {
  throw new FormatFailure(`${message}\n`);
}

const NODE_LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?';
const NODE_RE = new RegExp(`^${NODE_LABEL}$`);
const DNS_NAME_RE = new RegExp(`^(${NODE_LABEL}\\.)*${NODE_LABEL}$`);
const STORAGE_ID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const CONFIGID_RE = /^[a-z][a-z0-9_-]+$/i;
const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const VMID_RE = /^[1-9][0-9]{2,8}$/;
const POOLID_RE = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+){0,2}$/;
const VOLUME_ID_RE = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i;
const MAC_RE = /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i;
const EMAIL_RE = /^[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$/;
const EMAIL_USER_RE = /^[\w+\-~]+$/;
const STORAGE_CONTENT_TYPES = ['images', 'rootdir', 'vztmpl', 'backup', 'iso', 'snippets', 'import', 'none'];

const IPV4_OCTET = '(?:25[0-5]|(?:[1-9]|1[0-9]|2[0-4])?[0-9])';
const IPV4_RE_TEXT = `(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}`;
const IPV4_RE = new RegExp(`^${IPV4_RE_TEXT}$`);

export function isIPv4(value: string): boolean {
  return IPV4_RE.test(value);
}

/** Full RFC 4291 text forms, including an embedded IPv4 tail, as PVE's $IPV6RE. */
export function isIPv6(value: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(value) || value.length < 2) return false;
  let text = value;
  let groupsNeeded = 8;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return false;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  groupsNeeded = 8;
  const doubleColon = text.split('::');
  if (doubleColon.length > 2) return false;
  const group = /^[0-9a-fA-F]{1,4}$/;
  if (doubleColon.length === 2) {
    const left = doubleColon[0] === '' ? [] : doubleColon[0].split(':');
    const right = doubleColon[1] === '' ? [] : doubleColon[1].split(':');
    if (![...left, ...right].every(g => group.test(g))) return false;
    return left.length + right.length <= groupsNeeded - 1;
  }
  const groups = text.split(':');
  return groups.length === groupsNeeded && groups.every(g => group.test(g));
}

function cidrBits(value: string, isAddress: (a: string) => boolean): number | undefined {
  const match = /^(.+)\/(\d+)$/.exec(value);
  if (!match || !isAddress(match[1])) return undefined;
  return Number(match[2]);
}

export function isCIDRv4(value: string): boolean {
  const bits = cidrBits(value, isIPv4);
  return bits !== undefined && bits > 7 && bits <= 32;
}

export function isCIDRv6(value: string): boolean {
  const bits = cidrBits(value, isIPv6);
  return bits !== undefined && bits > 7 && bits <= 128;
}

/** pve-common parse_size: `\d+(\.\d+)?[KMGT]?` -> bytes. */
export function parseDiskSize(value: string): number | undefined {
  const match = /^(\d+(\.\d+)?)([KMGT])?$/.exec(value);
  if (!match) return undefined;
  const factor = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[match[3] as 'K'] ?? 1;
  return Math.floor(Number(match[1]) * factor);
}

function readZoneTab(): Set<string> | undefined {
  try {
    const text = fs.readFileSync('/usr/share/zoneinfo/zone.tab', 'utf8');
    const zones = new Set<string>();
    for (const line of text.split('\n')) {
      if (/^\s*#/.test(line) || !line.trim()) continue;
      const zone = line.split('\t')[2];
      if (zone) zones.add(zone);
    }
    return zones;
  } catch {
    return undefined;
  }
}

/** PVE::Tools::split_list. */
export function splitList(text: string): string[] {
  if (text.includes('\0')) return text.split('\0');
  return text
    .replace(/[,;]/g, ' ')
    .trim()
    .split(/\s+/)
    .filter(part => part !== '');
}

function verifyIdMap(value: string, verifyId: (id: string) => void): void {
  // PVE's storage-pair / bridge-pair formats check one list entry each.
  const entry = value;
  if (entry === '1') return;
  const pair = /^([^:]+):([^:]+)$/.exec(entry);
  try {
    if (pair) {
      verifyId(pair[1]);
      verifyId(pair[2]);
    } else {
      verifyId(entry);
    }
  } catch (e) {
    fail(`entry '${entry}' contains invalid ID - ${(e as FormatFailure).message}`);
  }
}

function code(verify: (value: string) => void): NamedFormat {
  return { kind: 'code', verify };
}

export function createFormatRegistry(): Map<string, NamedFormat> {
  let zones: Set<string> | undefined | null = null;
  const verifyStorageId = (v: string) => {
    if (!STORAGE_ID_RE.test(v)) fail(`storage ID '${v}' contains illegal characters`);
  };
  const verifyBridgeId = (v: string) => {
    if (!/^[-_.\w\d]+$/.test(v)) fail(`invalid bridge ID '${v}'`);
  };
  const formats = new Map<string, NamedFormat>([
    ['string', code(() => {})],
    ['pve-node', code(v => { if (!NODE_RE.test(v)) fail('value does not look like a valid node name'); })],
    ['pve-vmid', code(v => { if (!VMID_RE.test(v)) fail('value does not look like a valid VM ID'); })],
    ['pve-storage-id', code(verifyStorageId)],
    ['pve-bridge-id', code(verifyBridgeId)],
    ['pve-configid', code(v => { if (!CONFIGID_RE.test(v)) fail(`invalid configuration ID '${v}'`); })],
    ['pve-poolid', code(v => { if (!POOLID_RE.test(v)) fail(`invalid pool ID '${v}'`); })],
    ['pve-tag', code(v => { if (!TAG_RE.test(v)) fail('invalid characters in tag'); })],
    ['dns-name', code(v => { if (!DNS_NAME_RE.test(v)) fail('value does not look like a valid DNS name'); })],
    ['urlencoded', code(v => { if (!/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v)) fail(`invalid urlencoded string: ${v}`); })],
    ['ipv4', code(v => { if (!isIPv4(v)) fail('value does not look like a valid IPv4 address'); })],
    ['ipv6', code(v => { if (!isIPv6(v)) fail('value does not look like a valid IPv6 address'); })],
    ['ip', code(v => { if (!isIPv4(v) && !isIPv6(v)) fail('value does not look like a valid IP address'); })],
    ['CIDR', code(v => { if (!isCIDRv4(v) && !isCIDRv6(v)) fail('value does not look like a valid CIDR network'); })],
    ['CIDRv4', code(v => { if (!isCIDRv4(v)) fail('value does not look like a valid IPv4 CIDR network'); })],
    ['CIDRv6', code(v => { if (!isCIDRv6(v)) fail('value does not look like a valid IPv6 CIDR network'); })],
    ['mac-addr', code(v => { if (!MAC_RE.test(v)) fail('value does not look like a valid unicast MAC address'); })],
    ['pve-ipv4-config', code(v => {
      if (!/^(?:dhcp|manual)$/.test(v) && !isCIDRv4(v)) fail('value does not look like a valid ipv4 network configuration');
    })],
    ['pve-ipv6-config', code(v => {
      if (!/^(?:auto|dhcp|manual)$/.test(v) && !isCIDRv6(v)) fail('value does not look like a valid ipv6 network configuration');
    })],
    ['disk-size', code(v => { if (parseDiskSize(v) === undefined) fail(`value does not look like a valid disk size: ${v}`); })],
    ['email-or-username', code(v => {
      if (!EMAIL_RE.test(v) && !EMAIL_USER_RE.test(v)) fail('value does not look like a valid email address or user name');
    })],
    ['pve-task-status-type', code(v => { if (!/^(ok|error|warning|unknown)$/i.test(v)) fail(`invalid status '${v}'`); })],
    ['pve-realm', code(v => { if (!/^[A-Za-z][A-Za-z0-9.\-_]+$/.test(v)) fail(`value '${v}' does not look like a valid realm name`); })], // (approx.)
    ['pve-priv', code(v => { if (!/^[A-Z][A-Za-z]*(\.[A-Z][A-Za-z]*)+$/.test(v)) fail(`invalid privilege name '${v}'`); })], // (approx.)
    ['pve-startup-order', code(v => {
      const parts = v.split(',').filter(p => !/^\s*$/.test(p));
      const ok = v !== '' && v !== '0' && parts.every(p => /^(order=)?(\d+)$/.test(p) || /^up=(\d+)$/.test(p) || /^down=(\d+)$/.test(p));
      if (!ok) fail('unable to parse startup options');
    })],
    ['pve-volume-id', code(v => { if (!VOLUME_ID_RE.test(v)) fail(`unable to parse volume ID '${v}'`); })],
    ['pve-storage-content', code(v => {
      if (!STORAGE_CONTENT_TYPES.includes(v)) fail(`invalid content type '${v}'`); // (approx.)
    })],
    ['storage-pair', code(v => verifyIdMap(v, verifyStorageId))],
    ['bridge-pair', code(v => verifyIdMap(v, verifyBridgeId))],
    // pve-container: a volume id, a size, or an absolute path without `.`/`..` components.
    ['pve-lxc-mp-string', code(v => {
      if (/(?:^|\/)\.\.?(?:\/|$)/.test(v)) fail(`${v} contains illegal character sequences`);
    })],
    ['pve-lxc-dev-string', code(v => {
      if (!/^\/dev\//.test(v) || /\/\.\.?(?:\/|$)/.test(v)) fail(`not a valid device string: ${v}`); // (approx.)
    })],
    // nameserver: an IP, or an IPv6 link-local address with a `%iface` scope.
    ['lxc-ip-with-ll-iface', code(v => {
      const scoped = /^(fe80:[^%]*)%[a-zA-Z0-9._-]+$/i.exec(v);
      const address = scoped ? scoped[1] : v;
      if (!isIPv4(address) && !isIPv6(address)) fail(`unable to parse IP address '${v}'`); // (approx.)
    })],
    ['pve-ct-timezone', code(v => {
      if (v === 'host' || v === 'UTC') return;
      if (zones === null) zones = readZoneTab();
      const known = zones ? zones.has(v) : /^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)+$/.test(v);
      if (!known) fail(`invalid time zone '${v}'`);
    })],
    ['proxmox-remote', {
      kind: 'hash',
      schema: {
        host: { type: 'string' },
        port: { type: 'integer', optional: true },
        apitoken: { type: 'string' },
        fingerprint: { type: 'string', optional: true, pattern: /^(?:([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2})$/ },
      },
    }],
    ['prune-backups', {
      kind: 'hash',
      schema: {
        'keep-all': { type: 'boolean', optional: true },
        'keep-last': { type: 'integer', minimum: 1, optional: true },
        'keep-hourly': { type: 'integer', minimum: 1, optional: true },
        'keep-daily': { type: 'integer', minimum: 1, optional: true },
        'keep-weekly': { type: 'integer', minimum: 1, optional: true },
        'keep-monthly': { type: 'integer', minimum: 1, optional: true },
        'keep-yearly': { type: 'integer', minimum: 1, optional: true },
      },
    }],
    ['backup-fleecing', {
      kind: 'hash',
      schema: {
        enabled: { type: 'boolean', optional: true, default_key: true },
        storage: { type: 'string', format: 'pve-storage-id', optional: true },
      },
    }],
    ['backup-performance', {
      kind: 'hash',
      schema: {
        'max-workers': { type: 'integer', minimum: 1, maximum: 256, optional: true },
        'pbs-entries-max': { type: 'integer', minimum: 1, optional: true },
      },
    }],
  ]);
  return formats;
}
