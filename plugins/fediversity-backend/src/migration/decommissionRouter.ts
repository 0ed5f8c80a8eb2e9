import { HttpAuthService, PermissionsService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { instanceDecommissionPermission, TERMINAL_JOB_STATUSES } from '@fediversity/plugin-fediversity-common';
import express from 'express';
import Router from 'express-promise-router';
import { randomUUID } from 'node:crypto';
import type { JobStore } from '../jobs/JobStore';
import type { JobKind } from '../jobs/types';
import { checkDecommissionable, DECOMMISSION_JOB_KIND, DecommissionParams } from './decommissionJobKind';
import { MIGRATION_JOB_KIND } from './migrationJobKind';

export interface DecommissionRouterOptions {
  jobs: Pick<JobStore, 'getJob' | 'listJobs' | 'createJob'>;
  kind: JobKind<DecommissionParams>;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  now?: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `POST /migrations/:jobId/decommission` starts the `instance.decommission` of a completed migration's source
 * (202 with the new job, which then waits for approval). Needs `fediversity.instance.decommission` on the
 * migrated entity (owners only by default). 409 while the migration has not completed, when it recorded no
 * source guest, or while another decommission of it is active or has succeeded.
 */
export function createDecommissionRouter(options: DecommissionRouterOptions): express.Router {
  const { jobs, kind, httpAuth, permissions } = options;
  const now = options.now ?? Date.now;
  const router = Router();

  router.post('/migrations/:jobId/decommission', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const migrationJobId = req.params.jobId;
    if (!UUID.test(migrationJobId)) throw new InputError('jobId must be a job id (UUID)');
    const migration = await jobs.getJob(migrationJobId);
    if (!migration || migration.kind !== MIGRATION_JOB_KIND) throw new NotFoundError(`No migration job ${migrationJobId}`);
    const [decision] = await permissions.authorize(
      [{ permission: instanceDecommissionPermission, resourceRef: migration.entityRef }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`Not allowed: ${instanceDecommissionPermission.name} on ${migration.entityRef}`);
    }
    const verdict = checkDecommissionable(migration, { entityRef: migration.entityRef });
    if (!verdict.ok) throw new ConflictError(`Cannot decommission: ${verdict.reason}`);

    const earlier = (await jobs.listJobs({ entityRefs: [migration.entityRef], kind: DECOMMISSION_JOB_KIND, limit: 1000 })).find(
      job =>
        job.params.migrationJobId === migrationJobId &&
        (job.status === 'succeeded' || !TERMINAL_JOB_STATUSES.includes(job.status)),
    );
    if (earlier) throw new ConflictError(`Decommission job ${earlier.id} of this migration is ${earlier.status}`);

    const params = kind.params!.parse({ migrationJobId, sourceGuest: verdict.params.sourceGuest });
    const { job } = await jobs.createJob(
      {
        id: randomUUID(),
        kind: kind.kind,
        entityRef: migration.entityRef,
        params: params as Record<string, unknown>,
        steps: kind.steps,
        createdBy: principalRef(credentials.principal),
      },
      now(),
    );
    res.status(202).json({ jobId: job.id, kind: kind.kind, status: job.status });
  });

  return router;
}

function principalRef(principal: unknown): string {
  const { type, userEntityRef, subject } = principal as { type: string; userEntityRef?: string; subject?: string };
  return type === 'user' && userEntityRef ? userEntityRef : `service:${subject ?? 'unknown'}`;
}
