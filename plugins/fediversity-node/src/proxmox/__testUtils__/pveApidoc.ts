/**
 * Test support: validates requests against the official PVE API schema (pve-docs `apidata.js` as JSON), read at
 * run time from PVE_APIDOC or ../shared/data/pve-apidoc.json next to the repository. The schema is AGPL and is
 * never copied into the repository. This validator is written from proxmox.md §9 and shares no code with the
 * simulator.
 */
import fs from 'node:fs';
import path from 'node:path';

interface SchemaProperty {
  type?: string;
  optional?: number | boolean;
  enum?: Array<string | number>;
  minimum?: number | string;
  maximum?: number | string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string | Record<string, SchemaProperty & { default_key?: number; alias?: string }>;
  items?: SchemaProperty;
  default_key?: number;
  alias?: string;
}

interface MethodInfo {
  allowtoken?: number;
  parameters: { additionalProperties?: number; properties?: Record<string, SchemaProperty> };
}

interface ApiNode {
  path: string;
  info?: Record<string, MethodInfo>;
  children?: ApiNode[];
}

export interface WireRequest {
  method: string;
  /** Path as sent (URI-encoded segments), below /api2/json. */
  path: string;
  /** Parameters as sent on the wire: each key with its string values. */
  params: Record<string, string[]>;
}

export function findApidocPath(): string | undefined {
  if (process.env.PVE_APIDOC) {
    return fs.existsSync(process.env.PVE_APIDOC) ? process.env.PVE_APIDOC : undefined;
  }
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).workspaces) {
      const candidate = path.resolve(dir, '..', 'shared', 'data', 'pve-apidoc.json');
      return fs.existsSync(candidate) ? candidate : undefined;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const NODE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const DNS_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const STORAGE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const CONFIG_ID = /^[a-z][a-z0-9_-]+$/i;
const TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const VMID = /^[1-9][0-9]{2,8}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+(%\w+)?$/;
const CONTENT = ['rootdir', 'images', 'vztmpl', 'backup', 'iso', 'snippets', 'import'];
const listOf = (value: string) => value.split(/[,;\s]+/).filter(Boolean);
const cidr4 = (value: string) => {
  const [ip, bits, extra] = value.split('/');
  return extra === undefined && IPV4.test(ip) && /^\d+$/.test(bits ?? '') && Number(bits) <= 32;
};
const cidr6 = (value: string) => {
  const [ip, bits, extra] = value.split('/');
  return extra === undefined && IPV6.test(ip) && /^\d+$/.test(bits ?? '') && Number(bits) <= 128;
};
const pairList = (value: string, identity: boolean) =>
  (identity && value === '1') ||
  listOf(value).every(pair => /^[-_.\w\d]+(:[-_.\w\d]+)?$/.test(pair));

/**
 * The registered formats our requests use, each a check of the wire value. An unknown format fails validation,
 * so a new parameter cannot slip through unchecked.
 */
const FORMATS: Record<string, (value: string) => boolean> = {
  'pve-node': v => NODE.test(v),
  'pve-vmid': v => VMID.test(v),
  'pve-vmid-list': v => listOf(v).every(id => VMID.test(id)),
  'pve-storage-id': v => STORAGE_ID.test(v),
  'pve-configid': v => CONFIG_ID.test(v),
  'pve-configid-list': v => listOf(v).every(id => CONFIG_ID.test(id)),
  'pve-poolid': v => /^[A-Za-z0-9_][A-Za-z0-9_\-+.]*(\/[A-Za-z0-9_][A-Za-z0-9_\-+.]*){0,2}$/.test(v),
  'pve-tag-list': v => listOf(v).length > 0 && listOf(v).every(tag => TAG.test(tag)),
  'dns-name': v => DNS_NAME.test(v),
  'dns-name-list': v => listOf(v).every(name => DNS_NAME.test(name)),
  urlencoded: v => /^[-%a-zA-Z0-9_.!~*'()]*$/.test(v),
  'pve-storage-content': v => CONTENT.includes(v),
  'pve-storage-content-list': v => listOf(v).every(c => CONTENT.includes(c)),
  'storage-pair-list': v => pairList(v, false),
  'bridge-pair-list': v => pairList(v, true),
  'proxmox-remote': v => {
    const parts = parsePropertyString(v);
    if (!parts) return false;
    const allowed = ['apitoken', 'host', 'port', 'fingerprint'];
    return (
      Object.keys(parts).every(k => allowed.includes(k)) &&
      /^PVEAPIToken=[^=\s!]+@[^=\s!]+![^=\s]+=\S+$/.test(parts.apitoken ?? '') &&
      !!parts.host &&
      (parts.port === undefined || /^\d+$/.test(parts.port)) &&
      (parts.fingerprint === undefined || /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(parts.fingerprint))
    );
  },
  'lxc-ip-with-ll-iface-list': v => listOf(v).every(ip => IPV4.test(ip) || IPV6.test(ip)),
  'pve-ct-timezone': v => v === 'host' || /^[A-Za-z0-9_+\-]+(\/[A-Za-z0-9_+\-]+)*$/.test(v),
  'pve-lxc-mp-string': v => /^(\/\S+|[a-z][a-z0-9\-_.]*[a-z0-9]:\S+)$/i.test(v),
  'pve-ipv4-config': v => v === 'dhcp' || v === 'manual' || cidr4(v),
  'pve-ipv6-config': v => ['auto', 'dhcp', 'manual'].includes(v) || cidr6(v),
  'pve-qm-ipconfig': v => {
    const parts = parsePropertyString(v);
    if (!parts) return false;
    const checks: Record<string, (x: string) => boolean> = {
      ip: x => x === 'dhcp' || cidr4(x),
      gw: x => IPV4.test(x),
      ip6: x => ['auto', 'dhcp'].includes(x) || cidr6(x),
      gw6: x => IPV6.test(x),
    };
    return Object.entries(parts).every(([k, x]) => !!checks[k] && checks[k](x));
  },
  'address-list': v => listOf(v).every(ip => IPV4.test(ip) || IPV6.test(ip)),
  ipv4: v => IPV4.test(v),
  ipv6: v => IPV6.test(v),
  'mac-addr': v => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v),
  'prune-backups': v => {
    const parts = parsePropertyString(v);
    const keys = ['keep-all', 'keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'];
    return !!parts && Object.entries(parts).every(([k, n]) => keys.includes(k) && /^\d+$/.test(n));
  },
};

function parsePropertyString(value: string): Record<string, string> | undefined {
  const result: Record<string, string> = {};
  for (const part of value.split(',')) {
    const match = /^([^=]+)=(.+)$/.exec(part);
    if (!match || match[1] in result) return undefined;
    result[match[1]] = match[2];
  }
  return result;
}

function toRegExp(pattern: string): RegExp {
  let flags = '';
  let source = pattern;
  if (source.includes('(?^i:')) {
    flags = 'i';
    source = source.replace(/\(\?\^i:/g, '(?:');
  }
  source = source.replace(/\(\?\^:/g, '(?:');
  return new RegExp(`^(?:${source})$`, flags);
}

function isOptional(schema: SchemaProperty): boolean {
  return schema.optional === 1 || schema.optional === true;
}

/** Checks one wire value against a property schema; returns an error text or undefined. */
function checkValue(schema: SchemaProperty, value: string): string | undefined {
  switch (schema.type) {
    case 'integer':
      if (!/^-?\d+$/.test(value)) return `type check ('integer') failed - got '${value}'`;
      break;
    case 'number':
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) {
        return `type check ('number') failed - got '${value}'`;
      }
      break;
    case 'boolean':
      if (value !== '0' && value !== '1') return `type check ('boolean') failed - got '${value}'`;
      break;
    case 'string':
    case undefined:
      break;
    default:
      return `validator cannot check type ${schema.type}`;
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    if (schema.minimum !== undefined && Number(value) < Number(schema.minimum)) {
      return `value must have a minimum value of ${schema.minimum}`;
    }
    if (schema.maximum !== undefined && Number(value) > Number(schema.maximum)) {
      return `value must have a maximum value of ${schema.maximum}`;
    }
  }
  if (schema.enum && !schema.enum.map(String).includes(value)) {
    return `value '${value}' does not have a value in the enumeration '${schema.enum.join(', ')}'`;
  }
  if (schema.minLength !== undefined && value.length < schema.minLength) return 'value is too short';
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return 'value is too long';
  if (schema.pattern && !toRegExp(schema.pattern).test(value)) {
    return 'value does not match the regex pattern';
  }
  if (typeof schema.format === 'string') {
    const format = schema.format.replace(/-opt$/, '');
    const check = FORMATS[format];
    if (!check) return `validator does not implement format '${schema.format}'`;
    if (!check(value)) return `invalid format - value '${value}' is not a ${schema.format}`;
  } else if (schema.format && typeof schema.format === 'object') {
    return checkPropertyString(schema.format, value);
  }
  return undefined;
}

function checkPropertyString(
  subSchema: Record<string, SchemaProperty>,
  value: string,
): string | undefined {
  const defaultKey = Object.entries(subSchema).find(([, s]) => s.default_key)?.[0];
  const seen = new Set<string>();
  for (const part of value.split(',')) {
    const match = /^([^=]+)=(.+)$/.exec(part);
    let key: string;
    let subValue: string;
    if (match) {
      [, key, subValue] = match;
    } else if (defaultKey) {
      key = defaultKey;
      subValue = part;
    } else {
      return 'value without key, but schema does not define a default key';
    }
    let schema = subSchema[key];
    if (schema?.alias) {
      key = schema.alias;
      schema = subSchema[key];
    }
    if (!schema) return `invalid key in comma-separated list property: ${key}`;
    if (seen.has(key)) return `duplicate key in comma-separated list property: ${key}`;
    seen.add(key);
    const error = checkValue(schema, subValue);
    if (error) return `format error: ${key}: ${error}`;
  }
  for (const [key, schema] of Object.entries(subSchema)) {
    if (!isOptional(schema) && !schema.alias && !seen.has(key)) {
      return `format error: ${key}: property is missing and it is not optional`;
    }
  }
  return undefined;
}

interface Route {
  segments: string[];
  literalCount: number;
  node: ApiNode;
}

export class PveApidoc {
  private readonly routes: Route[] = [];

  static load(file: string): PveApidoc {
    return new PveApidoc(JSON.parse(fs.readFileSync(file, 'utf8')) as ApiNode[]);
  }

  constructor(roots: ApiNode[]) {
    const visit = (node: ApiNode) => {
      const segments = node.path.split('/').filter(Boolean);
      this.routes.push({
        segments,
        literalCount: segments.filter(s => !s.startsWith('{')).length,
        node,
      });
      node.children?.forEach(visit);
    };
    roots.forEach(visit);
    this.routes.sort((a, b) => b.literalCount - a.literalCount);
  }

  /** Every schema violation of one request, as `param: message` lines; empty when it is valid. */
  validate(request: WireRequest): string[] {
    const sent = request.path.split('/').filter(Boolean).map(decodeURIComponent);
    let pathParams: Record<string, string> | undefined;
    let route: Route | undefined;
    for (const candidate of this.routes) {
      if (candidate.segments.length !== sent.length) continue;
      const params: Record<string, string> = {};
      const matches = candidate.segments.every((segment, i) => {
        if (segment.startsWith('{')) {
          params[segment.slice(1, -1)] = sent[i];
          return true;
        }
        return segment === sent[i];
      });
      if (matches) {
        route = candidate;
        pathParams = params;
        break;
      }
    }
    if (!route || !pathParams) return [`no such path in the schema: ${request.path}`];
    const info = route.node.info?.[request.method];
    if (!info) return [`${request.method} is not defined for ${route.node.path}`];
    if (info.allowtoken === 0) return [`${request.method} ${route.node.path} is not available with API tokens`];

    const errors: string[] = [];
    const properties = info.parameters.properties ?? {};
    const values: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(pathParams)) values[key] = [value];
    for (const [key, list] of Object.entries(request.params)) {
      if (key in pathParams) {
        errors.push(`${key}: duplicate parameter (already defined in URI)`);
        continue;
      }
      values[key] = list;
    }

    for (const [key, list] of Object.entries(values)) {
      const schema = properties[key] ?? properties[key.replace(/^([a-z]+)(\d+)$/, '$1[n]')];
      if (!schema) {
        if (info.parameters.additionalProperties !== 1) {
          errors.push(
            `${key}: property is not defined in schema and the schema does not allow additional properties`,
          );
        }
        continue;
      }
      if (schema.type === 'array') {
        for (const item of list) {
          const error = checkValue(schema.items ?? { type: 'string' }, item);
          if (error) errors.push(`${key}: ${error}`);
        }
        continue;
      }
      if (list.length !== 1) {
        errors.push(`${key}: sent ${list.length} times`);
        continue;
      }
      const error = checkValue(schema, list[0]);
      if (error) errors.push(`${key}: ${error}`);
    }
    for (const [key, schema] of Object.entries(properties)) {
      if (!isOptional(schema) && !(key in values)) {
        errors.push(`${key}: property is missing and it is not optional`);
      }
    }
    return errors;
  }
}
