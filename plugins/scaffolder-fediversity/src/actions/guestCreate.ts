import { createHash } from 'node:crypto';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { DOMAIN_PATTERN, HOSTNAME_PATTERN } from '@fediversity/plugin-fediversity-common';
import {
  ensureContainer,
  lxcFeatures,
  lxcNetwork,
  LxcCreateParams,
  nixosContainerParams,
  PveClient,
} from '@fediversity/plugin-fediversity-node';
import { guestTags, hostnameOf } from '../lib/appDefaults';
import { GuestOs, Placement, resolvePlacement } from '../lib/placement';
import { FediversityActionDeps, pickCluster } from './deps';
import { readCheckpoint, recordCheckpoint } from './lib/checkpoints';
import { startHeartbeat } from './lib/progress';
import { examples } from './guestCreate.examples';

const TAG = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * The tag that makes this task's guest findable in /cluster/resources whatever happened to the task: derived from
 * the task, the step and the hostname, so a re-run of the step (recovery, retry) looks for the same guest.
 */
export function identityTag(taskId: string, stepId: string | undefined, hostname: string): string {
  const digest = createHash('sha256').update(`${taskId}\0${stepId ?? ''}\0${hostname}`).digest('hex');
  return `fdv-${digest.slice(0, 12)}`;
}

export function createGuestCreateAction(deps: FediversityActionDeps) {
  return createTemplateAction({
    id: 'fediversity:guest:create',
    description:
      'Creates an LXC guest on Proxmox VE (NixOS by default, or another Linux), at most once per task: the guest ' +
      'carries an identity tag, and its VMID and create task are recorded before they matter, so a re-run attaches ' +
      'to the guest instead of creating another.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        hostname: z =>
          z.string().regex(HOSTNAME_PATTERN, 'must be a lower-case host label (letters, digits, dashes)').optional()
            .describe('Defaults to the first label of domain'),
        domain: z => z.string().regex(DOMAIN_PATTERN, 'must be a lower-case DNS name (punycode)').optional(),
        owner: z => z.string().optional().describe('Owning group; tagged owner-<group> so the catalog shows the owner'),
        app: z => z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/).optional().describe('App name, tagged app-<app>'),
        os: z => z.enum(['nixos', 'linux']).default('nixos').describe('NixOS, or another Linux (not everything starts on Nix)'),
        cluster: z => z.string().optional().describe('Configured cluster name; the first one by default'),
        node: z => z.string().optional().describe('Node; by default the one with the most free memory'),
        storage: z => z.string().optional().describe('Storage for the root disk; by default the one with the most free space'),
        template: z => z.string().optional().describe('Container template volume id; by default the OS’s template'),
        cores: z => z.number().int().min(1).max(64).default(2),
        memoryMiB: z => z.number().int().min(256).max(262144).default(2048),
        diskGiB: z => z.number().int().min(2).max(4096).default(16),
        tags: z => z.array(z.string().regex(TAG, 'tags are lower-case letters, digits, dashes')).max(16).default([]),
      },
      output: {
        cluster: z => z.string(),
        hostname: z => z.string(),
        node: z => z.string(),
        vmid: z => z.number().int(),
        upid: z => z.string().optional(),
        storage: z => z.string(),
        storageShared: z => z.boolean(),
        template: z => z.string(),
        os: z => z.enum(['nixos', 'linux']),
        identityTag: z => z.string(),
        outcome: z => z.enum(['created', 'attached', 'exists', 'dry-run']),
      },
    },
    async handler(ctx) {
      const { input, signal } = ctx;
      if (!input.hostname && !input.domain) throw new InputError('hostname or domain is required');
      const hostname = input.hostname ?? hostnameOf(input.domain!);
      const cluster = pickCluster(deps.clusters, input.cluster);
      const { client } = cluster;
      const os: GuestOs = input.os ?? 'nixos';
      const memoryMiB = input.memoryMiB ?? 2048;
      const diskGiB = input.diskGiB ?? 16;
      const tag = identityTag(ctx.task.id, ctx.step?.id, hostname);
      const base = `guest.${tag}`;
      const request = { os, node: input.node, storage: input.storage, template: input.template, memoryMiB, diskGiB };

      if (ctx.isDryRun) {
        const placement = await resolvePlacement(client, request, signal);
        const vmid = await client.nextId(undefined, { signal });
        ctx.logger.info(
          `Dry run: would create ${os} container ${hostname} (VMID ${vmid} is free now) on ${cluster.name}/${placement.node}, ` +
            `${diskGiB} GiB on ${placement.storage}, template ${placement.template}; nothing was created`,
        );
        output(ctx, { cluster: cluster.name, hostname, ...placement, vmid, os, identityTag: tag, outcome: 'dry-run' });
        return;
      }

      // Recorded, so a re-run puts the guest where the first run did even if free capacity changed meanwhile.
      const placement = await ctx.checkpoint({ key: `${base}.placement`, fn: () => resolvePlacement(client, request, signal) });
      const created = await ctx.checkpoint({
        key: `${base}.create`,
        fn: async () => {
          const known = {
            vmid: await readCheckpoint<number>(ctx, `${base}.vmid`),
            upid: await readCheckpoint<string>(ctx, `${base}.upid`),
          };
          const { publicKey } = await deps.guestAccess.clientKey(cluster);
          const params = createParams({ ...input, hostname, os, memoryMiB, diskGiB }, placement, publicKey, [
            'fediversity',
            tag,
            ...guestTags(input.owner, input.app),
            ...(input.tags ?? []),
          ]);
          const result = await ensureContainer(client, {
            node: placement.node,
            identityTags: [tag],
            params,
            known,
            // The first recorded VMID stays: ensureContainer only moves on from it when another create took it.
            onVmidAllocated: async vmid => void (await recordCheckpoint(ctx, `${base}.vmid`, vmid)),
            onTaskStarted: async upid => void (await recordCheckpoint(ctx, `${base}.upid`, upid)),
            signal,
          });
          ctx.logger.info(
            result.outcome === 'exists'
              ? `Guest ${result.vmid} (${tag}) already exists on ${result.node}`
              : `Guest ${result.vmid} (${tag}) ${result.outcome === 'created' ? 'is being created' : 'was being created; waiting for it'} on ${result.node}: ${result.upid}`,
          );
          if (result.outcome !== 'exists') {
            const stop = startHeartbeat(ctx.logger, `Still creating guest ${result.vmid}`, deps.timing?.heartbeatMs);
            try {
              // The client's backoff (from 0.5 s, growing by half) capped at 1 s, as Terraform's bpg provider polls:
              // a small container is created in seconds, and a longer cap mostly adds to how late we notice.
              await client.waitForTask(result.upid, { signal, maxIntervalMs: 1_000 });
            } finally {
              stop();
            }
          }
          return { vmid: result.vmid, node: result.node, upid: result.outcome === 'exists' ? null : result.upid, outcome: result.outcome };
        },
      });
      await ctx.checkpoint({
        key: `${base}.start`,
        fn: () => ensureRunning(client, created.node, created.vmid, signal, ctx.logger),
      });
      output(ctx, {
        cluster: cluster.name,
        hostname,
        ...placement,
        node: created.node,
        vmid: created.vmid,
        upid: created.upid ?? undefined,
        os,
        identityTag: tag,
        outcome: created.outcome,
      });
    },
  });
}

function output(
  ctx: { output(name: string, value: any): void },
  values: Placement & { cluster: string; hostname: string; vmid: number; upid?: string; os: GuestOs; identityTag: string; outcome: string },
) {
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) ctx.output(name, value);
  }
}

/** Create parameters: the NixOS preset, or an unprivileged container with nesting for other distributions. */
export function createParams(
  input: { hostname: string; os: GuestOs; cores?: number; memoryMiB: number; diskGiB: number },
  placement: Placement,
  publicKey: string,
  tags: string[],
): Omit<LxcCreateParams, 'vmid'> {
  const common = {
    hostname: input.hostname,
    cores: input.cores ?? 2,
    memory: input.memoryMiB,
    tags: [...new Set(tags)],
    start: true,
    onboot: true,
  };
  if (input.os === 'nixos') {
    const { vmid: _placeholder, ...params } = nixosContainerParams({
      vmid: 0,
      ostemplate: placement.template,
      hostname: input.hostname,
      sshPublicKeys: [publicKey],
      storage: placement.storage,
      diskGiB: input.diskGiB,
      cores: common.cores,
      memoryMiB: common.memory,
      tags: common.tags,
      start: true,
      onboot: true,
    });
    return params;
  }
  return {
    ...common,
    ostemplate: placement.template,
    ostype: linuxOsType(placement.template),
    unprivileged: true,
    features: lxcFeatures({ nesting: true }),
    rootfs: `${placement.storage}:${input.diskGiB}`,
    'ssh-public-keys': publicKey,
    net0: lxcNetwork({ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }),
  };
}

const LINUX_OS_TYPES = ['debian', 'ubuntu', 'alpine', 'centos', 'fedora', 'opensuse', 'archlinux', 'devuan', 'gentoo'] as const;

function linuxOsType(template: string): LxcCreateParams['ostype'] {
  const file = template.split('/').pop() ?? '';
  return LINUX_OS_TYPES.find(os => file.startsWith(os)) ?? 'unmanaged';
}

/** Check-then-act: PVE answers a start of a running guest with a 500. */
async function ensureRunning(
  client: PveClient,
  node: string,
  vmid: number,
  signal: AbortSignal | undefined,
  logger: { info(message: string): void },
): Promise<void> {
  const status = await client.getGuestStatus({ node, vmid }, { signal });
  if (status.status === 'running') return;
  logger.info(`Starting guest ${vmid} on ${node}`);
  const upid = await client.startGuest({ node, vmid }, {}, { signal });
  await client.waitForTask(upid, { signal });
}
