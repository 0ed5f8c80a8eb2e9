/**
 * Generates requests from the official PVE schema's parameter definitions, each
 * labelled with what the schema says must happen: accepted, or rejected with a
 * 400 error on a given key. The labels come from the schema and from sample
 * values written here per named format (the apidoc names formats but does not
 * define them); they do not come from the simulator's validator.
 */

type RawProperty = Record<string, any>;

export interface CorpusCase {
  /** e.g. `POST /nodes/{node}/lxc` */
  endpoint: string;
  method: string;
  path: string;
  params: Record<string, string | boolean | number>;
  /** Sent as a JSON body (POST/PUT) instead of a form. */
  json?: boolean;
  expect: { accept: true } | { accept: false; key: string };
  why: string;
}

/** Valid and invalid samples per named format, from pve-common/pve-container behaviour. */
export const FORMAT_SAMPLES: Record<string, { valid: string[]; invalid: string[] }> = {
  'pve-node': { valid: ['pve-a'], invalid: ['-pve', 'pve_a'] },
  'pve-vmid': { valid: ['4242'], invalid: ['99', '0100'] },
  'pve-vmid-list': { valid: ['101,102', '101'], invalid: ['101,abc'] },
  'pve-storage-id': { valid: ['local-zfs'], invalid: ['1local', 'a'] },
  'pve-configid': { valid: ['snap1'], invalid: ['1snap', 'x'] },
  'pve-configid-list': { valid: ['memory,swap'], invalid: ['memory,1bad'] },
  'dns-name': { valid: ['web.example.org'], invalid: ['-web.example.org', 'a..b'] },
  'dns-name-list': { valid: ['example.org other.example'], invalid: ['bad_domain!'] },
  'pve-poolid': { valid: ['fediversity'], invalid: ['bad pool!'] },
  'pve-tag-list': { valid: ['fediversity;app-mastodon'], invalid: ['bad!tag'] },
  'pve-volume-id': { valid: ['local:snippets/hook.sh'], invalid: ['nocolon'] },
  'pve-storage-content': { valid: ['rootdir'], invalid: ['pictures'] },
  'pve-storage-content-list': { valid: ['rootdir,images'], invalid: ['rootdir,pictures'] },
  'storage-pair-list': { valid: ['local-zfs:tank', '1', 'local-zfs'], invalid: ['local:1bad'] },
  'bridge-pair-list': { valid: ['vmbr0:vmbr1', '1'], invalid: ['vmbr0:br/0'] },
  'proxmox-remote': {
    valid: ['apitoken=PVEAPIToken=root@pam!t=00000000-0000-0000-0000-000000000000,host=127.0.0.1,port=1'],
    invalid: ['host=127.0.0.1', 'apitoken=x,host=h,port=abc', 'apitoken=x,host=h,fingerprint=zz'],
  },
  'email-or-username-list': { valid: ['ops@example.org,root'], invalid: ['ops@example.org,email!'] },
  'backup-fleecing': { valid: ['enabled=1,storage=local-zfs', '1'], invalid: ['enabled=maybe', 'size=1'] },
  'backup-performance': { valid: ['max-workers=4'], invalid: ['max-workers=0', 'workers=4'] },
  'prune-backups': { valid: ['keep-last=3,keep-daily=7'], invalid: ['keep-last=0', 'keep-forever=1'] },
  'pve-task-status-type-list': { valid: ['ok,error'], invalid: ['ok,bogus'] },
  'pve-startup-order': { valid: ['order=1,up=30'], invalid: ['first'] },
  'pve-ct-timezone': { valid: ['Europe/Amsterdam', 'host'], invalid: ['Mars/Olympus_Mons'] },
  'lxc-ip-with-ll-iface-list': { valid: ['10.0.0.1 fe80::1%eth0'], invalid: ['999.1.1.1'] },
  ipv4: { valid: ['10.0.0.1'], invalid: ['10.0.0.256'] },
  ipv6: { valid: ['fd00::1'], invalid: ['fd00:::1'] },
  'mac-addr': { valid: ['BC:24:11:00:00:01'], invalid: ['01:00:5E:00:00:01'] },
  'pve-ipv4-config': { valid: ['dhcp', '10.0.0.5/24'], invalid: ['10.0.0.5'] },
  'pve-ipv6-config': { valid: ['auto', 'fd00::5/64'], invalid: ['fd00::5'] },
  'disk-size': { valid: ['8G'], invalid: ['8X'] },
  'pve-lxc-mp-string': { valid: ['local-zfs:8', '/mnt/data'], invalid: ['/mnt/../etc'] },
  'pve-lxc-dev-string': { valid: ['/dev/fuse'], invalid: ['/tmp/fuse'] },
  'pve-realm': { valid: ['pve'], invalid: ['1realm'] },
  'pve-priv-list': { valid: ['VM.Audit,Sys.Audit'], invalid: ['VM.Audit,not-a-privilege'] },
};

/** Candidates tried against a schema pattern (anchored as PVE does). */
const PATTERN_MATCHING = ['sample', 'abc123', '0755', '1;20;30', 'discard;noatime', 'x=1', 'ext4;nfs', 'vmbr0'];
// (No empty string: whether pveproxy keeps empty parameters is not what this corpus tests.)
const PATTERN_FAILING = ['two words!', '\u0001', '-', 'a=1\u0001'];

export function anchoredPattern(pattern: string): RegExp {
  const flags = pattern.includes('(?^i:') ? 'i' : '';
  return new RegExp(`^(?:${pattern.replace(/\(\?\^i?:/g, '(?:')})$`, flags);
}

const optional = (p: RawProperty) => Number(p.optional ?? 0) === 1;

/** A value the schema accepts for a scalar property; throws when the corpus lacks samples. */
export function validValues(p: RawProperty, where: string): string[] {
  if (p.type === 'boolean') return ['1', '0'];
  if (p.enum) return (p.enum as string[]).slice(0, 3).map(String);
  if (typeof p.format === 'object') return validPropertyStrings(p.format, where);
  if (typeof p.format === 'string') {
    const samples = FORMAT_SAMPLES[p.format];
    if (!samples) throw new Error(`${where}: no samples for format '${p.format}'`);
    return samples.valid.filter(v => p.maxLength === undefined || v.length <= Number(p.maxLength));
  }
  if (p.type === 'integer' || p.type === 'number') {
    const min = p.minimum !== undefined ? Number(p.minimum) : undefined;
    const max = p.maximum !== undefined ? Number(p.maximum) : undefined;
    const values = [min ?? 1, max ?? min ?? 1].map(String);
    if (p.type === 'number' && (max === undefined || max >= 2.5) && (min === undefined || min <= 2.5)) values.push('2.5');
    return [...new Set(values)];
  }
  if (p.pattern) {
    const re = anchoredPattern(p.pattern);
    const match = PATTERN_MATCHING.find(candidate => re.test(candidate));
    if (!match) throw new Error(`${where}: no sample matches pattern ${p.pattern}`);
    return [match];
  }
  const text = 'sample text';
  if (p.minLength !== undefined && text.length < Number(p.minLength)) return ['x'.repeat(Number(p.minLength))];
  return [text];
}

/** Values the schema rejects for a scalar property. */
export function invalidValues(p: RawProperty, where: string): string[] {
  if (p.type === 'boolean') return ['true', '2'];
  const result: string[] = [];
  if (p.type === 'integer') result.push('abc', '1.5');
  if (p.type === 'number') result.push('abc');
  if (p.minimum !== undefined) result.push(String(Number(p.minimum) - 1));
  if (p.maximum !== undefined) result.push(String(Number(p.maximum) + 1));
  if (p.enum) result.push('not-in-enum');
  if (typeof p.format === 'string') result.push(...FORMAT_SAMPLES[p.format]!.invalid);
  if (typeof p.format === 'object') result.push(...invalidPropertyStrings(p.format, where));
  if (p.pattern) {
    const re = anchoredPattern(p.pattern);
    const failing = PATTERN_FAILING.find(candidate => !re.test(candidate));
    if (failing !== undefined) result.push(failing);
  }
  if (p.maxLength !== undefined) result.push('a'.repeat(Number(p.maxLength) + 1));
  if (p.minLength !== undefined && Number(p.minLength) > 1) result.push('a'.repeat(Number(p.minLength) - 1));
  return result;
}

function defaultKey(format: Record<string, RawProperty>): string | undefined {
  return Object.keys(format).find(k => Number(format[k].default_key ?? 0) === 1);
}

function requiredPart(format: Record<string, RawProperty>, where: string): string[] {
  const dk = defaultKey(format);
  const parts: string[] = [];
  for (const [key, sub] of Object.entries(format)) {
    if (optional(sub) || sub.alias) continue;
    const value = validValues(sub, `${where}.${key}`)[0];
    parts.push(key === dk ? value : `${key}=${value}`);
  }
  if (dk && optional(format[dk])) parts.unshift(validValues(format[dk], `${where}.${dk}`)[0]);
  return parts;
}

export function validPropertyStrings(format: Record<string, RawProperty>, where: string): string[] {
  const base = requiredPart(format, where);
  const dk = defaultKey(format);
  const variants = [base.join(',')].filter(v => v !== '');
  for (const [key, sub] of Object.entries(format)) {
    if (!optional(sub) || key === dk || sub.alias) continue;
    const value = sub.type === 'boolean' ? 'yes' : validValues(sub, `${where}.${key}`)[0];
    variants.push([...base, `${key}=${value}`].join(','));
  }
  return variants;
}

export function invalidPropertyStrings(format: Record<string, RawProperty>, where: string): string[] {
  const base = requiredPart(format, where);
  const result = [[...base, 'bogus-key=1'].join(',')];
  const dk = defaultKey(format);
  const firstKeyed = Object.entries(format).find(([k, s]) => k !== dk && !s.alias);
  if (firstKeyed) {
    const [key, sub] = firstKeyed;
    const value = validValues(sub, `${where}.${key}`)[0];
    result.push([...base.filter(p => !p.startsWith(`${key}=`)), `${key}=${value}`, `${key}=${value}`].join(','));
  }
  for (const [key, sub] of Object.entries(format)) {
    if (key === dk || sub.alias) continue;
    // Inside property strings yes/no/true/false are booleans too.
    const candidates = sub.type === 'boolean' ? ['maybe'] : invalidValues(sub, `${where}.${key}`);
    const bad = candidates.find(v => v !== '' && !v.includes(','));
    if (bad !== undefined) result.push([...base.filter(p => !p.startsWith(`${key}=`)), `${key}=${bad}`].join(','));
    if (!optional(sub)) result.push(base.filter(p => !p.startsWith(`${key}=`)).join(',') || 'x=1');
  }
  if (!dk) result.push(['barevalue', ...base].join(','));
  return result;
}

export interface EndpointFixture {
  /** Values for the path's `{x}` parameters that name existing objects. */
  path: Record<string, string>;
  /** Path parameters whose invalid values are not tested (proxied `{node}`: pveproxy resolves it first). */
  skipInvalidPath?: string[];
}

/** The maximum index PVE 9 accepts per indexed key, as documented (reference/proxmox.md §9). */
const INDEX_MAX: Record<string, number> = { net: 31, mp: 255, unused: 255, dev: 255 };

export function generateCorpus(
  endpoints: Array<{ key: string; properties: Record<string, RawProperty>; fixture: EndpointFixture }>,
): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const { key, properties, fixture } of endpoints) {
    const [method, template] = key.split(' ');
    const pathNames = [...template.matchAll(/\{([^}]+)\}/g)].map(m => m[1]);
    const buildPath = (values: Record<string, string>) => template.replace(/\{([^}]+)\}/g, (_m, n: string) => encodeURIComponent(values[n]));
    const bodyProps = Object.entries(properties).filter(([name]) => !pathNames.includes(name));
    const base: Record<string, string> = {};
    for (const [name, p] of bodyProps) {
      if (optional(p) || name.endsWith('[n]')) continue;
      base[name] = validValues(p, `${key} ${name}`)[0];
    }
    const add = (params: CorpusCase['params'], expect: CorpusCase['expect'], why: string, path = fixture.path, json = false) =>
      cases.push({ endpoint: key, method, path: buildPath(path), params, expect, why, json });

    add({ ...base }, { accept: true }, 'required parameters only');
    add({ ...base, 'bogus-param': '1' }, { accept: false, key: 'bogus-param' }, 'unknown parameter');
    for (const name of Object.keys(base)) {
      const { [name]: _dropped, ...rest } = base;
      add(rest, { accept: false, key: name }, `required ${name} missing`);
    }
    for (const name of pathNames) {
      if (fixture.skipInvalidPath?.includes(name)) continue;
      for (const bad of invalidValues(properties[name], `${key} {${name}}`).filter(v => v !== '' && !v.includes('/'))) {
        add({ ...base }, { accept: false, key: name }, `path ${name}=${JSON.stringify(bad)}`, { ...fixture.path, [name]: bad });
      }
    }
    for (const [rawName, p] of bodyProps) {
      const indexed = /^(.+)\[n\]$/.exec(rawName);
      const names = indexed ? [`${indexed[1]}0`, `${indexed[1]}${INDEX_MAX[indexed[1]]}`] : [rawName];
      if (indexed && INDEX_MAX[indexed[1]] === undefined) throw new Error(`${key}: no index range for ${rawName}`);
      if (indexed) {
        const beyond = `${indexed[1]}${INDEX_MAX[indexed[1]] + 1}`;
        add({ ...base, [beyond]: validValues(p, `${key} ${rawName}`)[0] }, { accept: false, key: beyond }, `${beyond} beyond the index range`);
      }
      for (const name of names) {
        if (p.type === 'boolean' && (method === 'POST' || method === 'PUT') && !p.requires) {
          // In a JSON body booleans may be JSON literals; strings still must be 0 or 1.
          add({ ...base, [name]: true }, { accept: true }, `${name}=true (JSON literal)`, fixture.path, true);
          add({ ...base, [name]: 'true' }, { accept: false, key: name }, `${name}="true" (JSON string)`, fixture.path, true);
        }
        if ((p.type === 'integer' || p.type === 'number') && (method === 'POST' || method === 'PUT') && p.minimum === undefined && p.maximum === undefined && !p.format) {
          add({ ...base, [name]: 7 }, { accept: true }, `${name}=7 (JSON number)`, fixture.path, true);
        }
        if (p.type === 'array') {
          add({ ...base, [name]: 'sample' }, { accept: true }, `${name} as one array item`);
          continue;
        }
        const sibling = p.requires ? { [p.requires]: validValues(properties[p.requires], `${key} ${p.requires}`)[0] } : {};
        for (const value of validValues(p, `${key} ${name}`)) {
          add({ ...base, ...sibling, [name]: value }, { accept: true }, `${name}=${JSON.stringify(value)}`);
        }
        if (p.requires) {
          const value = validValues(p, `${key} ${name}`)[0];
          add({ ...base, [name]: value }, { accept: false, key: p.requires }, `${name} without ${p.requires}`);
        }
        if (name !== names[0]) continue;
        for (const value of invalidValues(p, `${key} ${name}`)) {
          add({ ...base, ...sibling, [name]: value }, { accept: false, key: name }, `${name}=${JSON.stringify(value)}`);
        }
      }
    }
  }
  return cases;
}
