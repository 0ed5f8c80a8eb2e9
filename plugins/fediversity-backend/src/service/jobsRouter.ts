import {
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult, ResourcePermission } from '@backstage/plugin-permission-common';
import {
  approveJobRequestSchema,
  cancelJobRequestSchema,
  createJobRequestSchema,
  jobApprovePermission,
  jobCancelPermission,
  jobCreatePermission,
  jobReadPermission,
  jobRetryPermission,
  listJobEventsQuerySchema,
  listJobsQuerySchema,
  retryJobRequestSchema,
  TERMINAL_JOB_STATUSES,
} from '@fediversity/plugin-fediversity-common';
import express, { Request, Response } from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { JobService, normalizeEntityRef } from '../jobs/JobService';
import { isRunStep } from '../jobs/registry';

export interface JobsRouterOptions {
  jobs: JobService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
}

/** How long one SSE wait for new events lasts before a keep-alive comment. */
const SSE_WAIT_MS = 15_000;

/**
 * The job API (see README.md and openapi.yaml). Every route needs a user or service; each decision is
 * taken by the permission framework against the catalog entity the job acts on.
 */
export function createJobsRouter(options: JobsRouterOptions): express.Router {
  const { jobs, httpAuth, permissions } = options;
  const router = Router();

  async function authorize(req: Request, permission: ResourcePermission<'catalog-entity'>, entityRef: string) {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const [decision] = await permissions.authorize([{ permission, resourceRef: entityRef }], { credentials });
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`Not allowed: ${permission.name} on ${entityRef}`);
    }
    return credentials;
  }

  /** Authenticates first, so an unauthenticated caller learns nothing about which jobs exist. */
  async function authorizeOnJob(req: Request, permission: ResourcePermission<'catalog-entity'>) {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const job = await jobs.getRecord(req.params.id);
    return authorize(req, permission, job.entityRef);
  }

  router.get('/job-kinds', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json({
      items: jobs.listKinds().map(kind => ({
        kind: kind.kind,
        title: kind.title,
        steps: kind.steps.map(step => ({
          name: step.name,
          title: step.title,
          approvalGate: !isRunStep(step),
          pointOfNoReturn: isRunStep(step) && step.pointOfNoReturn === true,
        })),
      })),
    });
  });

  router.get('/jobs', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const query = parse(listJobsQuerySchema, req.query, 'query');
    let entityRefs: string[];
    if (query.entityRef) {
      entityRefs = [normalizeEntityRef(query.entityRef)];
      await authorize(req, jobReadPermission, entityRefs[0]);
    } else {
      entityRefs = await readableEntityRefs(
        permissions,
        credentials,
        await jobs.listEntityRefs({ status: query.status, kind: query.kind }),
      );
    }
    res.json({ items: await jobs.list({ ...query, entityRefs }) });
  });

  router.post('/jobs', async (req, res) => {
    const body = parse(createJobRequestSchema, req.body, 'body');
    const kind = jobs.kindOf(body.kind);
    const entityRef = normalizeEntityRef(body.entityRef);
    const credentials = await authorize(req, kind.permission ?? jobCreatePermission, entityRef);
    const { job, created } = await jobs.create({ ...body, entityRef }, principalRef(credentials));
    res.status(created ? 201 : 200).json(job);
  });

  router.get('/jobs/:id', async (req, res) => {
    await authorizeOnJob(req, jobReadPermission);
    res.json(await jobs.get(req.params.id));
  });

  router.get('/jobs/:id/events', async (req, res) => {
    await authorizeOnJob(req, jobReadPermission);
    const query = parse(listJobEventsQuerySchema, req.query, 'query');
    const closed = abortOnClose(res);
    res.json(
      await jobs.events(req.params.id, {
        after: query.after,
        limit: query.limit,
        waitMs: query.wait * 1000,
        signal: closed.signal,
      }),
    );
  });

  /** Server-sent events: `event: log` per job event (id = seq, so a reconnect resumes), `event: end` when done. */
  router.get('/jobs/:id/eventstream', async (req, res) => {
    await authorizeOnJob(req, jobReadPermission);
    const query = parse(listJobEventsQuerySchema, req.query, 'query');
    const lastEventId = Number(req.header('last-event-id'));
    let after = Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : query.after;
    const closed = abortOnClose(res);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    while (!closed.signal.aborted) {
      const page = await jobs.events(req.params.id, {
        after,
        limit: query.limit,
        waitMs: SSE_WAIT_MS,
        signal: closed.signal,
      });
      for (const event of page.events) {
        res.write(`id: ${event.seq}\nevent: log\ndata: ${JSON.stringify(event)}\n\n`);
      }
      after = page.lastSeq;
      if (!page.events.length && TERMINAL_JOB_STATUSES.includes(page.jobStatus)) {
        res.write(`event: end\ndata: ${JSON.stringify({ jobStatus: page.jobStatus })}\n\n`);
        break;
      }
      if (!page.events.length) res.write(': keep-alive\n\n');
    }
    res.end();
  });

  router.post('/jobs/:id/cancel', async (req, res) => {
    const body = parse(cancelJobRequestSchema, req.body ?? {}, 'body');
    const credentials = await authorizeOnJob(req, jobCancelPermission);
    res.json(await jobs.cancel(req.params.id, principalRef(credentials), body.reason));
  });

  router.post('/jobs/:id/approve', async (req, res) => {
    const body = parse(approveJobRequestSchema, req.body ?? {}, 'body');
    const credentials = await authorizeOnJob(req, jobApprovePermission);
    res.json(await jobs.approve(req.params.id, principalRef(credentials), body));
  });

  router.post('/jobs/:id/retry', async (req, res) => {
    parse(retryJobRequestSchema, req.body ?? {}, 'body');
    const credentials = await authorizeOnJob(req, jobRetryPermission);
    res.json(await jobs.retry(req.params.id, principalRef(credentials)));
  });

  return router;
}

/** Of these entities, those whose jobs the caller may read (one batched permission request). */
async function readableEntityRefs(
  permissions: PermissionsService,
  credentials: BackstageCredentials,
  entityRefs: string[],
): Promise<string[]> {
  if (!entityRefs.length) return [];
  const decisions = await permissions.authorize(
    entityRefs.map(resourceRef => ({ permission: jobReadPermission, resourceRef })),
    { credentials },
  );
  return entityRefs.filter((_, index) => decisions[index].result === AuthorizeResult.ALLOW);
}

/** Who did it, as recorded in jobs and events: the user's entity ref, or the calling service. */
function principalRef(credentials: BackstageCredentials): string {
  const principal = credentials.principal as { type: string; userEntityRef?: string; subject?: string };
  if (principal.type === 'user' && principal.userEntityRef) return principal.userEntityRef;
  return `service:${principal.subject ?? 'unknown'}`;
}

function parse<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map(issue =>
      issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    );
    throw new InputError(`Invalid ${what}: ${issues.join('; ')}`);
  }
  return result.data;
}

/** The response's close (not the request's: that fires once the body is read) means the client left. */
function abortOnClose(res: Response): AbortController {
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  return controller;
}
