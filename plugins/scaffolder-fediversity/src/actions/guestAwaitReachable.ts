import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { HOSTNAME_PATTERN } from '@fediversity/plugin-fediversity-common';
import {
  describeHostKey,
  enrollHostKey,
  parsePublicKeyLine,
  retryUntil,
  SshConnection,
  waitForGuestAddress,
} from '@fediversity/plugin-fediversity-node';
import { FediversityActionDeps, pickCluster } from './deps';
import { startHeartbeat } from './lib/progress';
import { examples } from './guestAwaitReachable.examples';

/** A guest's reachability, as later steps need it. */
export interface ReachableGuest {
  ipv4: string;
  host: string;
  port: number;
  username: string;
  hostKey: string;
  hostKeyFingerprint: string;
  trust: 'demo' | 'tofu';
}

export function createGuestAwaitReachableAction(deps: FediversityActionDeps) {
  return createTemplateAction({
    id: 'fediversity:guest:awaitReachable',
    description:
      'Waits until a new guest has an address (from Proxmox) and answers over SSH, and pins its host key: the demo ' +
      'host server’s own key, or on a real cluster the key the guest presents first, which is recorded, shown in ' +
      'the output and the log, and required on every later connection (trust on first use, made explicit).',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        cluster: z => z.string().optional(),
        node: z => z.string().min(1),
        vmid: z => z.number().int().min(100),
        hostname: z => z.string().regex(HOSTNAME_PATTERN, 'must be a lower-case host label').optional(),
        timeoutSeconds: z => z.number().int().min(10).max(3600).default(600),
      },
      output: {
        ipv4: z => z.string(),
        host: z => z.string(),
        port: z => z.number().int(),
        username: z => z.string(),
        hostKey: z => z.string(),
        hostKeyFingerprint: z => z.string(),
        trust: z => z.enum(['demo', 'tofu', 'dry-run']),
      },
    },
    async handler(ctx) {
      const { input, signal } = ctx;
      const cluster = pickCluster(deps.clusters, input.cluster);
      const guest = `${cluster.name}/${input.vmid}`;
      if (ctx.isDryRun) {
        ctx.logger.info(`Dry run: would wait for guest ${guest} to get an address and answer over SSH`);
        const placeholder = { ipv4: '192.0.2.1', host: '192.0.2.1', port: 22, username: 'root', hostKey: '', hostKeyFingerprint: '' };
        for (const [name, value] of Object.entries({ ...placeholder, trust: 'dry-run' })) ctx.output(name as any, value);
        return;
      }
      const deadline = Date.now() + (input.timeoutSeconds ?? 600) * 1000;
      const pollInitialMs = deps.timing?.pollInitialMs ?? 1_000;
      const stop = startHeartbeat(ctx.logger, `Still waiting for guest ${guest} to be reachable`, deps.timing?.heartbeatMs);
      try {
        const retry = { deadline, pollInitialMs, signal };
        const ipv4 = await waitForGuestAddress(cluster.client, { node: input.node, vmid: input.vmid }, retry);
        ctx.logger.info(`Guest ${guest} has address ${ipv4}`);

        const endpoint = await ctx.checkpoint({
          key: `reach.${cluster.name}.${input.vmid}.endpoint`,
          fn: async () => {
            const prepared = await deps.guestAccess.prepare(cluster, { vmid: input.vmid, hostname: input.hostname ?? `ct-${input.vmid}`, ipv4 });
            return { host: prepared.host, port: prepared.port, username: prepared.username, hostKey: prepared.hostKey ?? null, trust: prepared.trust };
          },
        });
        // Recorded once: every later run and step connects with this key and no other.
        const pinned = await ctx.checkpoint({
          key: `reach.${cluster.name}.${input.vmid}.hostKey`,
          fn: async () => {
            const key = endpoint.hostKey
              ? describeHostKey(parsePublicKeyLine(endpoint.hostKey).blob)
              : await retryUntil(retry, () => enrollHostKey({ host: endpoint.host, port: endpoint.port, timeoutMs: 10_000 }));
            return { hostKey: key.publicKey, hostKeyFingerprint: key.fingerprint };
          },
        });
        if (endpoint.trust === 'tofu') {
          ctx.logger.warn(
            `Trust on first use: guest ${guest} at ${endpoint.host}:${endpoint.port} presented host key ` +
              `${pinned.hostKeyFingerprint}. It is recorded and pinned; every later connection must present it. ` +
              `Compare it with the guest's console if in doubt.`,
          );
        } else {
          ctx.logger.info(`Guest ${guest} is a demo guest; pinned the demo host key ${pinned.hostKeyFingerprint}`);
        }

        const { privateKey } = await deps.guestAccess.clientKey(cluster);
        await retryUntil(retry, async () => {
          const connection = await SshConnection.connect({ ...endpoint, hostKey: pinned.hostKey, privateKey });
          try {
            await connection.run(['true'], { signal });
          } finally {
            connection.close();
          }
        });
        ctx.logger.info(`Logged in to ${endpoint.username}@${endpoint.host}:${endpoint.port} with the pinned key`);

        const result: ReachableGuest = {
          ipv4,
          host: endpoint.host,
          port: endpoint.port,
          username: endpoint.username,
          ...pinned,
          trust: endpoint.trust,
        };
        for (const [name, value] of Object.entries(result)) ctx.output(name as keyof ReachableGuest, value);
      } finally {
        stop();
      }
    },
  });
}
