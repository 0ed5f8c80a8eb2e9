import { HttpAuthService, PermissionsService } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { jobCreatePermission } from '@fediversity/plugin-fediversity-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { JobStore } from '../jobs/JobStore';
import type { JobKind } from '../jobs/types';
import { MigrationJobParams } from './params';
import { MigrationPlanner } from './planner';

export interface MigrationRouterOptions {
  planner: Pick<MigrationPlanner, 'preflight' | 'plan'>;
  jobs: Pick<JobStore, 'createJob'>;
  kind: JobKind<MigrationJobParams>;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  now?: () => number;
}

const PVE_ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;
const migrationRequest = z
  .object({
    entityRef: z.string().min(1).max(500),
    target: z
      .object({
        cluster: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/, 'a configured cluster name'),
        node: z.string().regex(PVE_ID, 'a Proxmox node name'),
        storage: z.string().regex(PVE_ID, 'a Proxmox storage id'),
      })
      .strict(),
  })
  .strict();

/**
 * `POST /migrations/preflight` checks a target for an instance without changing anything; `POST /migrations`
 * runs the same checks and enqueues an `instance.migrate` job (202), or answers 409 with the failed checks.
 * Both need `fediversity.job.create` on the instance's entity, as starting any job on it does.
 */
export function createMigrationRouter(options: MigrationRouterOptions): express.Router {
  const { planner, jobs, kind, httpAuth, permissions } = options;
  const now = options.now ?? Date.now;
  const router = Router();
  router.use(express.json());

  async function authorize(req: Request, entityRef: string): Promise<string> {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const [decision] = await permissions.authorize([{ permission: jobCreatePermission, resourceRef: entityRef }], {
      credentials,
    });
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`Not allowed: ${jobCreatePermission.name} on ${entityRef}`);
    }
    const principal = credentials.principal as { type: string; userEntityRef?: string; subject?: string };
    return principal.type === 'user' && principal.userEntityRef
      ? principal.userEntityRef
      : `service:${principal.subject ?? 'unknown'}`;
  }

  /** Authenticates before parsing, so an anonymous caller learns nothing about the request's validity. */
  async function request(req: Request) {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const body = parse(req.body);
    const entityRef = normalize(body.entityRef);
    const by = await authorize(req, entityRef);
    return { entityRef, target: body.target, by };
  }

  router.post('/migrations/preflight', async (req, res) => {
    const { entityRef, target } = await request(req);
    res.json(await planner.preflight(entityRef, target));
  });

  router.post('/migrations', async (req, res) => {
    const { entityRef, target, by } = await request(req);
    const plan = await planner.plan(entityRef, target);
    if (!plan.ok || !plan.params) {
      const failed = plan.checks.filter(check => !check.ok);
      res.status(409).json({
        error: {
          name: 'ConflictError',
          message: `The preflight failed: ${failed.map(check => `${check.name}: ${check.message}`).join('; ')}`,
        },
        checks: plan.checks,
      });
      return;
    }
    const { job } = await jobs.createJob(
      { id: randomUUID(), kind: kind.kind, entityRef, params: plan.params as Record<string, unknown>, steps: kind.steps, createdBy: by },
      now(),
    );
    res.status(202).json({ jobId: job.id, kind: kind.kind, status: job.status });
  });

  return router;
}

function parse(body: unknown): z.output<typeof migrationRequest> {
  const result = migrationRequest.safeParse(body);
  if (!result.success) {
    const issues = result.error.issues.map(i => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new InputError(`Invalid body: ${issues.join('; ')}`);
  }
  return result.data;
}

function normalize(ref: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref));
  } catch (error) {
    throw new InputError(`Invalid entity ref "${ref}": ${(error as Error).message}`);
  }
}
