import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { DOMAIN_PATTERN } from '@fediversity/plugin-fediversity-common';
import { InstanceRegistration } from '../lib/backendClient';
import { FediversityActionDeps, pickCluster } from './deps';
import { examples } from './instanceRegister.examples';

/** `mastodon` + `social.example.org` → `mastodon-social-example-org`, a valid entity name (at most 63). */
export function instanceName(app: string, domain: string): string {
  const name = `${app}-${domain.replace(/\./g, '-')}`.slice(0, 63).replace(/-+$/, '');
  return name;
}

function fullRef(ref: string, defaultKind: string, field: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref, { defaultKind, defaultNamespace: 'default' }));
  } catch (error) {
    throw new InputError(`${field}: ${(error as Error).message}`);
  }
}

export function createInstanceRegisterAction(deps: FediversityActionDeps) {
  return createTemplateAction({
    id: 'fediversity:instance:register',
    description:
      'Records the new instance in the fediversity backend’s instance store, for the task’s initiator (who must ' +
      'belong to the owner). The catalog then shows it as a Component of type service that depends on its guest, ' +
      'its storage and the core services its app uses. Recording twice for one task returns the first record.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        app: z => z.string().min(1).describe('App definition, e.g. mastodon or component:default/mastodon'),
        owner: z => z.string().min(1).describe('Owning group, e.g. group:default/social-team'),
        domain: z => z.string().regex(DOMAIN_PATTERN, 'must be a lower-case DNS name (punycode)'),
        os: z => z.enum(['nixos', 'linux']).default('nixos'),
        cluster: z => z.string().optional(),
        node: z => z.string().min(1),
        vmid: z => z.number().int().min(100),
        storage: z => z.string().min(1),
        storageShared: z => z.boolean().default(false),
        coreServices: z => z.array(z.string()).max(32).default([]),
        flakeRef: z => z.string().optional(),
        ipv4: z => z.string().optional(),
        ssh: z =>
          z
            .object({
              host: z.string(),
              port: z.number().int(),
              username: z.string(),
              hostKey: z.string(),
              hostKeyFingerprint: z.string(),
              trust: z.enum(['tofu', 'demo', 'configured']),
            })
            .optional(),
        name: z => z.string().optional().describe('Entity name; <app>-<domain with dashes> by default'),
      },
      output: {
        instanceId: z => z.string(),
        name: z => z.string(),
        entityRef: z => z.string(),
        guestRef: z => z.string(),
        storageRef: z => z.string(),
      },
    },
    async handler(ctx) {
      const { input } = ctx;
      const cluster = pickCluster(deps.clusters, input.cluster);
      const app = fullRef(input.app, 'component', 'app');
      const name = input.name ?? instanceName(parseEntityRef(app).name, input.domain);
      const registration: InstanceRegistration = {
        idempotencyKey: `${ctx.task.id}:${name}`,
        name,
        app,
        owner: fullRef(input.owner, 'group', 'owner'),
        domain: input.domain,
        os: input.os ?? 'nixos',
        cluster: cluster.name,
        node: input.node,
        vmid: input.vmid,
        storage: input.storage,
        storageShared: input.storageShared ?? false,
        coreServices: (input.coreServices ?? []).map(ref => fullRef(ref, 'component', 'coreServices')),
        flakeRef: input.flakeRef || undefined,
        ipv4: input.ipv4 || undefined,
        ssh: input.ssh,
        demo: cluster.demo,
        taskId: ctx.task.id,
      };
      const entityRef = `component:default/${name}`;
      if (ctx.isDryRun) {
        ctx.logger.info(`Dry run: would record ${entityRef} (${registration.app}, owner ${registration.owner})`);
        ctx.output('instanceId', 'dry-run');
        ctx.output('name', name);
        ctx.output('entityRef', entityRef);
        ctx.output('guestRef', '');
        ctx.output('storageRef', '');
        return;
      }
      const instance = await ctx.checkpoint({
        key: `instance.${name}`,
        fn: async () => {
          const recorded = await deps.backend.registerInstance(registration, await ctx.getInitiatorCredentials());
          return { id: recorded.id, guestRef: recorded.guestRef, storageRef: recorded.storageRef };
        },
      });
      ctx.logger.info(`Recorded instance ${entityRef} (${instance.id}); the catalog lists it in a moment`);
      ctx.output('instanceId', instance.id);
      ctx.output('name', name);
      ctx.output('entityRef', entityRef);
      ctx.output('guestRef', instance.guestRef);
      ctx.output('storageRef', instance.storageRef);
    },
  });
}
