/**
 * Generates templates/fediversity-<app>.yaml for every app definition in catalog/apps, the two bare-guest templates,
 * and templates/all.yaml, from one source (this file), so they stay consistent. A test
 * (plugins/scaffolder-fediversity/src/templates.test.ts) fails when the committed files differ from the output.
 *
 *   node -r @backstage/cli/config/nodeTransform.cjs templates/generate.ts
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  APP_DEFINITION_TYPE,
  DOMAIN_PATTERN,
  HOST_APP_NAMES,
  hostAppOptionsSchemas,
  HostAppName,
} from '@fediversity/plugin-fediversity-common';

interface AppDefinition {
  metadata: { name: string; title?: string; description?: string };
  spec: { type: string; owner: string; system: string; coreServices?: string[] };
}

/** Memory and disk an app gets unless the form says otherwise. */
const SIZES: Record<string, { cores: number; memoryMiB: number; diskGiB: number }> = {
  large: { cores: 4, memoryMiB: 8192, diskGiB: 64 },
  medium: { cores: 2, memoryMiB: 4096, diskGiB: 32 },
  small: { cores: 1, memoryMiB: 1024, diskGiB: 8 },
};
const APP_SIZE: Partial<Record<HostAppName, keyof typeof SIZES>> = {
  mastodon: 'large',
  peertube: 'large',
  synapse: 'medium',
  nextcloud: 'medium',
  pixelfed: 'medium',
  forgejo: 'medium',
  cryptpad: 'medium',
  gotosocial: 'small',
  hedgedoc: 'small',
  roundcube: 'small',
  vikunja: 'small',
  bind9: 'small',
  maddy: 'small',
  lldap: 'small',
  authelia: 'small',
  openbao: 'small',
};

/** Derived in fediversity:nixos:deploy from the domain when the form leaves them empty. */
const DERIVED_HELP: Record<string, string> = {
  'roundcube.imapHost': 'Defaults to mail.<parent domain>.',
  'bind9.zones': 'Defaults to the parent domain.',
  'authelia.ldapHost': 'Defaults to ldap.<parent domain>.',
  'authelia.ldapBaseDn': 'Defaults to dc=… of the parent domain.',
};

/** A zod (v3) schema, read through its definition only. */
type ZodSchema = { _def: any };

/** The JSON Schema of the app options the form shows, from the host description's zod schema. */
function jsonSchemaOf(schema: ZodSchema, path: string): Record<string, unknown> {
  // By type name, not instanceof: the schemas come from fediversity-common's copy of zod.
  const def = schema._def;
  const is = (typeName: string) => def.typeName === typeName;
  if (is('ZodDefault')) return { ...jsonSchemaOf(def.innerType, path), default: def.defaultValue() };
  if (is('ZodOptional')) return jsonSchemaOf(def.innerType, path);
  if (is('ZodEffects')) return jsonSchemaOf(def.schema, path);
  if (is('ZodPipeline')) return jsonSchemaOf(def.out, path);
  if (is('ZodBoolean')) return { type: 'boolean' };
  if (is('ZodNumber')) {
    const result: Record<string, unknown> = { type: 'number' };
    for (const check of def.checks) {
      if (check.kind === 'int') result.type = 'integer';
      if (check.kind === 'min') result.minimum = check.value;
      if (check.kind === 'max') result.maximum = check.value;
    }
    return result;
  }
  if (is('ZodString')) {
    const result: Record<string, unknown> = { type: 'string' };
    for (const check of def.checks) {
      if (check.kind === 'regex') result.pattern = check.regex.source;
      if (check.kind === 'max') result.maxLength = check.value;
    }
    return result;
  }
  if (is('ZodArray')) {
    return { type: 'array', items: jsonSchemaOf(def.type, path), ...(def.maxLength ? { maxItems: def.maxLength.value } : {}) };
  }
  if (is('ZodObject')) {
    const properties: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(def.shape() as Record<string, ZodSchema>)) {
      const property = jsonSchemaOf(value, `${path}.${key}`);
      const help = DERIVED_HELP[`${path}.${key}`];
      properties[key] = { title: key, ...property, ...(help ? { description: help } : {}) };
    }
    return { type: 'object', properties, additionalProperties: false };
  }
  throw new Error(`generate.ts: no JSON Schema mapping for ${def.typeName} at ${path}`);
}

/** The replication intervals the form offers (seconds, label); schedules can be changed later on the Replication tab. */
const REPLICATION_INTERVALS: Array<[number, string]> = [
  [900, 'Every 15 minutes'],
  [3600, 'Hourly'],
  [21600, 'Every 6 hours'],
  [86400, 'Daily'],
];

const ENTITY_REF = '^(?:group:)?(?:[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$';

function instanceParameters(options: { appOptions?: Record<string, unknown>; size: (typeof SIZES)[string]; os?: 'nixos' | 'linux' }) {
  const pages: Record<string, unknown>[] = [
    {
      title: 'Instance',
      required: ['owner', 'domain'],
      properties: {
        owner: {
          title: 'Owner',
          type: 'string',
          description: 'The group that owns the instance; its members may run jobs on it.',
          pattern: ENTITY_REF,
          'ui:field': 'OwnerPicker',
          'ui:options': { catalogFilter: { kind: 'Group' } },
        },
        domain: {
          title: 'Domain',
          type: 'string',
          description: 'The public DNS name it is served on, lower case (punycode for IDNs), e.g. social.example.org.',
          pattern: DOMAIN_PATTERN.source,
          maxLength: 253,
        },
      },
      errorMessage: {
        properties: {
          owner: 'Pick the owning group (group:default/<name>).',
          domain: 'Give a lower-case DNS name with at least two labels, e.g. social.example.org.',
        },
      },
    },
    {
      title: 'Placement and size',
      description:
        'Size first: the node and storage lists show live free memory and space and refuse what does not fit. ' +
        'Leave node and storage on automatic for the node with the most free memory and its storage with the most free space.',
      properties: {
        cores: { title: 'CPU cores', type: 'integer', minimum: 1, maximum: 64, default: options.size.cores },
        memoryMiB: { title: 'Memory (MiB)', type: 'integer', minimum: 256, maximum: 262144, default: options.size.memoryMiB },
        diskGiB: { title: 'Disk (GiB)', type: 'integer', minimum: 2, maximum: 4096, default: options.size.diskGiB },
        node: {
          title: 'Node',
          type: 'string',
          default: '',
          pattern: '^$|^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$',
          'ui:field': 'FediversityNodePicker',
          'ui:options': { memoryField: 'memoryMiB' },
        },
        storage: {
          title: 'Storage',
          type: 'string',
          default: '',
          pattern: '^$|^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$',
          'ui:field': 'FediversityStoragePicker',
          'ui:options': { nodeField: 'node', sizeField: 'diskGiB' },
        },
        template: {
          title: 'Container template',
          type: 'string',
          default: '',
          description: 'Volume id, e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst.',
          pattern: '^$|^[a-zA-Z0-9._-]+:vztmpl/[A-Za-z0-9._+-]+$',
        },
      },
    },
  ];
  pages.push({
    title: 'Protection',
    description: 'A first backup is taken once the instance is deployed; replication keeps a copy at the replication target.',
    properties: {
      replicationIntervalSeconds: {
        title: 'Replication interval',
        type: 'integer',
        enum: REPLICATION_INTERVALS.map(([seconds]) => seconds),
        enumNames: REPLICATION_INTERVALS.map(([, label]) => label),
        default: 3600,
      },
      ...(options.appOptions
        ? {}
        : {
            replicateDirectories: {
              title: 'Directories to replicate',
              description: 'Absolute paths on the guest, each copied with rsync on the interval above.',
              type: 'array',
              maxItems: 16,
              items: { type: 'string', pattern: '^/[A-Za-z0-9._@+/-]*$' },
              default: [],
            },
          }),
    },
  });
  if (options.appOptions) {
    pages.push({ title: 'App options', properties: { appOptions: { title: 'App options', ...options.appOptions, default: {} } } });
  }
  return pages;
}

const orDefault = (name: string) => `\${{ parameters.${name} or undefined }}`;

function guestSteps(os: 'nixos' | 'linux', app?: string) {
  return [
    {
      id: 'guest',
      name: `Create the ${os === 'nixos' ? 'NixOS' : 'Linux'} container`,
      action: 'fediversity:guest:create',
      input: {
        domain: '${{ parameters.domain }}',
        os,
        owner: '${{ parameters.owner }}',
        ...(app ? { app } : {}),
        node: orDefault('node'),
        storage: orDefault('storage'),
        template: orDefault('template'),
        cores: '${{ parameters.cores }}',
        memoryMiB: '${{ parameters.memoryMiB }}',
        diskGiB: '${{ parameters.diskGiB }}',
      },
    },
    {
      id: 'reachable',
      name: 'Wait until it answers over SSH',
      action: 'fediversity:guest:awaitReachable',
      input: {
        node: '${{ steps.guest.output.node }}',
        vmid: '${{ steps.guest.output.vmid }}',
        hostname: '${{ steps.guest.output.hostname }}',
      },
    },
  ];
}

const dnsStep = {
  id: 'dns',
  name: 'Create the DNS records',
  action: 'fediversity:dns:records',
  input: { domain: '${{ parameters.domain }}', ipv4: '${{ steps.reachable.output.ipv4 }}' },
};

function backupStep(entityRef: string) {
  return {
    id: 'backup',
    name: 'Schedule the first backup',
    action: 'fediversity:backup:schedule',
    input: { entityRef, node: '${{ steps.guest.output.node }}', vmid: '${{ steps.guest.output.vmid }}' },
  };
}

const guestSsh = {
  host: '${{ steps.reachable.output.host }}',
  port: '${{ steps.reachable.output.port }}',
  username: '${{ steps.reachable.output.username }}',
  hostKey: '${{ steps.reachable.output.hostKey }}',
};

/** Replication of the app definition's data classes (apps) or of the directories the form lists (bare guests). */
function replicationStep(entityRef: string, source: { app: string } | { directories: string }) {
  return {
    id: 'replication',
    name: 'Schedule replication',
    action: 'fediversity:replication:schedule',
    input: {
      entityRef,
      ...source,
      vmid: '${{ steps.guest.output.vmid }}',
      ipv4: '${{ steps.reachable.output.ipv4 }}',
      ssh: guestSsh,
      intervalSeconds: '${{ parameters.replicationIntervalSeconds }}',
    },
  };
}

function appTemplate(app: AppDefinition) {
  const name = app.metadata.name as HostAppName;
  const title = app.metadata.title ?? name;
  const size = SIZES[APP_SIZE[name] ?? 'medium'];
  return {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: {
      name: `fediversity-${name}`,
      title,
      description: `${app.metadata.description ?? title} A NixOS container on Proxmox with ${title}, DNS, a catalog entry, a first backup and replication.`,
      tags: ['fediversity', 'nixos', name],
      annotations: { 'fediversity.eu/app': `component:default/${name}` },
    },
    spec: {
      owner: app.spec.owner,
      type: 'service',
      parameters: instanceParameters({ appOptions: jsonSchemaOf(hostAppOptionsSchemas[name], name), size }),
      steps: [
        ...guestSteps('nixos', name),
        {
          id: 'register',
          name: 'Record the instance',
          action: 'fediversity:instance:register',
          input: {
            app: `component:default/${name}`,
            owner: '${{ parameters.owner }}',
            domain: '${{ parameters.domain }}',
            os: 'nixos',
            node: '${{ steps.guest.output.node }}',
            vmid: '${{ steps.guest.output.vmid }}',
            storage: '${{ steps.guest.output.storage }}',
            storageShared: '${{ steps.guest.output.storageShared }}',
            coreServices: app.spec.coreServices ?? [],
            // Known before the deploy: the instance is recorded first, so the catalog takes it in while the guest builds.
            flakeRef: '/etc/nixos#${{ steps.guest.output.hostname }}',
            ipv4: '${{ steps.reachable.output.ipv4 }}',
            ssh: {
              host: '${{ steps.reachable.output.host }}',
              port: '${{ steps.reachable.output.port }}',
              username: '${{ steps.reachable.output.username }}',
              hostKey: '${{ steps.reachable.output.hostKey }}',
              hostKeyFingerprint: '${{ steps.reachable.output.hostKeyFingerprint }}',
              trust: '${{ steps.reachable.output.trust }}',
            },
          },
        },
        {
          id: 'deploy',
          name: `Deploy ${title} with nixos-rebuild`,
          action: 'fediversity:nixos:deploy',
          input: {
            host: '${{ steps.reachable.output.host }}',
            port: '${{ steps.reachable.output.port }}',
            username: '${{ steps.reachable.output.username }}',
            hostKey: '${{ steps.reachable.output.hostKey }}',
            hostname: '${{ steps.guest.output.hostname }}',
            domain: '${{ parameters.domain }}',
            app: name,
            appOptions: '${{ parameters.appOptions }}',
          },
        },
        dnsStep,
        // Replication first: it installs the replica's key while the catalog takes the new instance in.
        replicationStep('${{ steps.register.output.entityRef }}', { app: `component:default/${name}` }),
        backupStep('${{ steps.register.output.entityRef }}'),
      ],
      output: {
        links: [
          { title: 'Instance in the catalog', icon: 'catalog', entityRef: '${{ steps.register.output.entityRef }}' },
          { title: 'Open ${{ parameters.domain }}', url: 'https://${{ parameters.domain }}/' },
        ],
        text: [
          {
            title: 'Host key',
            content:
              'Pinned SSH host key of the guest (${{ steps.reachable.output.trust }}): `${{ steps.reachable.output.hostKeyFingerprint }}`. DNS: ${{ steps.dns.output.status }}. First backup: job ${{ steps.backup.output.jobId }}. Replication to ${{ steps.replication.output.target }}.',
          },
        ],
      },
    },
  };
}

function bareGuestTemplate(os: 'nixos' | 'linux') {
  const title = os === 'nixos' ? 'Bare NixOS container' : 'Bare Linux container';
  return {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: {
      name: `fediversity-${os}-guest`,
      title,
      description:
        os === 'nixos'
          ? 'A NixOS container from the stock template, reachable over SSH with a pinned host key, with DNS and a first backup.'
          : 'A container of another Linux distribution (Debian by default; not everything starts on Nix), with DNS and a first backup.',
      tags: ['fediversity', os, 'guest'],
    },
    spec: {
      owner: 'group:default/platform-team',
      type: 'resource',
      parameters: instanceParameters({ size: SIZES.small, os }),
      steps: [
        ...guestSteps(os),
        dnsStep,
        backupStep('resource:default/${{ steps.guest.output.cluster }}-ct-${{ steps.guest.output.vmid }}'),
        replicationStep('resource:default/${{ steps.guest.output.cluster }}-ct-${{ steps.guest.output.vmid }}', {
          directories: '${{ parameters.replicateDirectories }}',
        }),
      ],
      output: {
        links: [{ title: 'Guest in the catalog', icon: 'catalog', entityRef: 'resource:default/${{ steps.guest.output.cluster }}-ct-${{ steps.guest.output.vmid }}' }],
        text: [
          {
            title: 'Access',
            content:
              'ssh ${{ steps.reachable.output.username }}@${{ steps.reachable.output.host }} -p ${{ steps.reachable.output.port }}; pinned host key (${{ steps.reachable.output.trust }}): `${{ steps.reachable.output.hostKeyFingerprint }}`.',
          },
        ],
      },
    },
  };
}

const HEADER = '# Generated by templates/generate.ts from catalog/apps; edit the generator, not this file.\n';

/** Every template file (name → YAML text), from the app definitions under `<repoRoot>/catalog/apps`. */
export function renderTemplates(repoRoot: string): Map<string, string> {
  const appsDir = join(repoRoot, 'catalog', 'apps');
  const apps = readdirSync(appsDir)
    .filter(file => file.endsWith('.yaml'))
    .sort()
    .map(file => parse(readFileSync(join(appsDir, file), 'utf8')) as AppDefinition)
    .filter(entity => entity.spec?.type === APP_DEFINITION_TYPE);
  const files = new Map<string, string>();
  for (const app of apps) {
    if (!(HOST_APP_NAMES as readonly string[]).includes(app.metadata.name)) {
      throw new Error(`App definition ${app.metadata.name} has no NixOS app module (HOST_APP_NAMES)`);
    }
    files.set(`fediversity-${app.metadata.name}.yaml`, HEADER + stringify(appTemplate(app), { lineWidth: 0 }));
  }
  for (const os of ['nixos', 'linux'] as const) {
    files.set(`fediversity-${os}-guest.yaml`, HEADER + stringify(bareGuestTemplate(os), { lineWidth: 0 }));
  }
  const location = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Location',
    metadata: { name: 'fediversity-templates', description: 'Software templates of the Fediversity portal.' },
    spec: { type: 'file', targets: [...files.keys()].sort().map(file => `./${file}`) },
  };
  files.set('all.yaml', HEADER + stringify(location, { lineWidth: 0 }));
  return files;
}

if (require.main === module) {
  const repoRoot = join(__dirname, '..');
  for (const [file, text] of renderTemplates(repoRoot)) writeFileSync(join(__dirname, file), text);
}
