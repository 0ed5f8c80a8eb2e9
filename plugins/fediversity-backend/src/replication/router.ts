import { HttpAuthService, PermissionsService } from '@backstage/backend-plugin-api';
import { PveClustersService } from '@fediversity/plugin-fediversity-node';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { AuthorizeResult, ResourcePermission } from '@backstage/plugin-permission-common';
import { DataClass, jobCreatePermission, jobReadPermission, ReplicationRun } from '@fediversity/plugin-fediversity-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { listInstanceBackups } from '../backups/instanceBackups';
import { DrillStore } from '../backups/DrillStore';
import { httpHealthSchema } from '../backups/healthCheck';
import { ManifestStore } from '../backups/ManifestStore';
import { archiveVmidOf, GuestLocation, guestSchema } from '../backups/params';
import { InstanceStore } from '../instances/InstanceStore';
import { InstanceRecord } from '../instances/types';
import { JobStore } from '../jobs/JobStore';
import { JobKind } from '../jobs/types';
import { createScheduleRequestSchema, updateScheduleRequestSchema } from './params';
import { ScheduleStore } from './ScheduleStore';

export interface ReplicationRouterOptions {
  schedules: ScheduleStore;
  drills: DrillStore;
  /** Marks backups that carry a file manifest in the listing; optional. */
  manifests?: ManifestStore;
  instances: InstanceStore;
  jobs: JobStore;
  /** The kinds these routes enqueue: replication.run, backup.restore, backup.restore-in-place, backup.drill, backup.create. */
  kinds: Record<'run' | 'restore' | 'restoreInPlace' | 'drill', JobKind<any>> & { backup?: JobKind<any> };
  clusters: PveClustersService;
  /** Reads an app definition's data classes (catalog); backups with manifests need it. */
  appDataClasses?: (appRef: string) => Promise<DataClass[]>;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  now?: () => number;
  /** How long GET /backups waits for a former guest's archives before it reports the guest unavailable. */
  formerGuestTimeoutMs?: number;
}

const entityQuery = z.object({ entityRef: z.string().min(1).max(500) }).strict();
const entityListQuery = z
  .object({ entityRef: z.string().min(1).max(500), limit: z.coerce.number().int().min(1).max(1000).default(200) })
  .strict();

const restoreRequest = z
  .object({
    entityRef: z.string().min(1).max(500),
    volid: z.string().min(1).max(500),
    mode: z.enum(['fresh', 'in-place']).default('fresh'),
    /** Storage for the restored disks; the instance's storage by default. */
    storage: z.string().max(63).optional(),
    /** The app's HTTP health endpoint, checked on the restored guest. */
    health: httpHealthSchema.optional(),
    /** The former guest (`formerGuests`) the archive was taken of; the instance's current guest when absent. */
    from: guestSchema.optional(),
  })
  .strict();
type RestoreRequest = z.output<typeof restoreRequest>;
const drillRequest = z
  .object({ entityRef: z.string().min(1).max(500), storage: z.string().max(63).optional(), health: httpHealthSchema.optional() })
  .strict();
/** The directories and quiesce commands come from the instance's app definition, never from the request. */
const backupRequest = z
  .object({
    entityRef: z.string().min(1).max(500),
    /** A node storage with backup content (`local` by default). */
    storage: z.string().max(63).default('local'),
  })
  .strict();

/**
 * Schedules, recovery points, backups, restores and drills of instances. Every route takes the same permissions
 * as the job API on the instance's entity: `fediversity.job.read` to look, `fediversity.job.create` to change
 * or start anything; the jobs these routes start are ordinary jobs (cancel, approve, events through /jobs).
 */
export function createReplicationRouter(options: ReplicationRouterOptions): express.Router {
  const { schedules, drills, instances, jobs, kinds, httpAuth, permissions } = options;
  const now = options.now ?? Date.now;
  const router = Router();
  router.use(express.json());

  async function authorize(req: Request, permission: ResourcePermission<'catalog-entity'>, entityRef: string) {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const [decision] = await permissions.authorize([{ permission, resourceRef: entityRef }], { credentials });
    if (decision.result !== AuthorizeResult.ALLOW) throw new NotAllowedError(`Not allowed: ${permission.name} on ${entityRef}`);
    const principal = credentials.principal as { type: string; userEntityRef?: string; subject?: string };
    return principal.type === 'user' && principal.userEntityRef ? principal.userEntityRef : `service:${principal.subject ?? 'unknown'}`;
  }

  async function scheduleFor(req: Request, permission: ResourcePermission<'catalog-entity'>) {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const schedule = await schedules.get(req.params.id);
    const by = await authorize(req, permission, schedule.entityRef);
    return { schedule, by };
  }

  async function instanceOf(entityRef: string) {
    const name = parseEntityRef(entityRef).name;
    const instance = await instances.findByName(name);
    if (!instance) throw new NotFoundError(`${entityRef} is not a recorded instance`);
    return instance;
  }

  async function enqueue(kind: JobKind<any>, entityRef: string, params: unknown, createdBy: string) {
    const parsed = kind.params ? kind.params.safeParse(params) : { success: true as const, data: params };
    if (!parsed.success) throw new InputError(`Invalid ${kind.kind} request: ${parsed.error.issues.map(i => i.message).join('; ')}`);
    const { job } = await jobs.createJob(
      { id: randomUUID(), kind: kind.kind, entityRef, params: parsed.data as Record<string, unknown>, steps: kind.steps, createdBy },
      now(),
    );
    return { jobId: job.id, kind: kind.kind, status: job.status };
  }

  router.get('/replication/schedules', async (req, res) => {
    const { entityRef } = parse(entityQuery, req.query, 'query');
    const ref = normalize(entityRef);
    await authorize(req, jobReadPermission, ref);
    res.json({ items: await schedules.list({ entityRefs: [ref] }) });
  });

  router.post('/replication/schedules', async (req, res) => {
    const body = parse(createScheduleRequestSchema, req.body, 'body');
    const entityRef = normalize(body.entityRef);
    const by = await authorize(req, jobCreatePermission, entityRef);
    res.status(201).json(await schedules.create({ ...body, entityRef }, by, now()));
  });

  router.get('/replication/schedules/:id', async (req, res) => {
    const { schedule } = await scheduleFor(req, jobReadPermission);
    res.json(schedule);
  });

  router.patch('/replication/schedules/:id', async (req, res) => {
    const body = parse(updateScheduleRequestSchema, req.body, 'body');
    const { schedule } = await scheduleFor(req, jobCreatePermission);
    res.json(await schedules.update(schedule.id, body, now()));
  });

  router.delete('/replication/schedules/:id', async (req, res) => {
    const { schedule } = await scheduleFor(req, jobCreatePermission);
    await schedules.delete(schedule.id);
    res.status(204).end();
  });

  /** Runs a schedule now, outside its interval. */
  router.post('/replication/schedules/:id/run', async (req, res) => {
    const { schedule, by } = await scheduleFor(req, jobCreatePermission);
    res.status(201).json(await enqueue(kinds.run, schedule.entityRef, { scheduleId: schedule.id }, by));
  });

  router.get('/replication/recovery-points', async (req, res) => {
    const { entityRef } = parse(entityQuery, req.query, 'query');
    const ref = normalize(entityRef);
    await authorize(req, jobReadPermission, ref);
    const at = now();
    const points = await schedules.recoveryPoints({ entityRefs: [ref] });
    res.json({ items: points.map(point => ({ ...point, ageSeconds: Math.round((at - point.consistentAt) / 1000) })) });
  });

  /** Every recorded recovery point (oldest first, the newest `limit` per data class): the plot over time. */
  router.get('/replication/recovery-points/history', async (req, res) => {
    const { entityRef, limit } = parse(entityListQuery, req.query, 'query');
    const ref = normalize(entityRef);
    await authorize(req, jobReadPermission, ref);
    res.json({ items: await schedules.recoveryPointHistory({ entityRefs: [ref], limit }) });
  });

  /** The replication runs of an instance, newest first, each with its schedule's data class. */
  router.get('/replication/runs', async (req, res) => {
    const { entityRef, limit } = parse(entityListQuery, req.query, 'query');
    const ref = normalize(entityRef);
    await authorize(req, jobReadPermission, ref);
    const classes = new Map((await schedules.list({ entityRefs: [ref] })).map(s => [s.id, s.dataClass]));
    const runs = await jobs.listJobs({ entityRefs: [ref], kind: kinds.run.kind, limit });
    const items: ReplicationRun[] = runs.map(job => {
      const scheduleId = typeof job.params.scheduleId === 'string' ? job.params.scheduleId : undefined;
      return {
        jobId: job.id,
        scheduleId,
        dataClass: scheduleId ? classes.get(scheduleId) : undefined,
        status: job.status,
        createdBy: job.createdBy,
        createdAt: job.createdAt,
        finishedAt: job.finishedAt,
        error: job.error?.message,
      };
    });
    res.json({ items });
  });

  router.get('/backups', async (req, res) => {
    const { entityRef } = parse(entityQuery, req.query, 'query');
    const ref = normalize(entityRef);
    await authorize(req, jobReadPermission, ref);
    const instance = await instanceOf(ref);
    const { items, unavailable } = await listInstanceBackups(
      options.clusters,
      { current: guestOf(instance), former: instance.formerGuests.map(guest => ({ ...guestOf(guest), movedAt: guest.movedAt })) },
      { formerGuestTimeoutMs: options.formerGuestTimeoutMs },
    );
    const withManifest = (await options.manifests?.backupIdsWithManifest(ref)) ?? new Set<string>();
    res.json({ items: items.map(item => (withManifest.has(item.id) ? { ...item, checksums: true } : item)), unavailable });
  });

  /** Takes a backup with a file manifest of the given directories (restores of it are then checked per file). */
  router.post('/backups', async (req, res) => {
    const body = parse(backupRequest, req.body, 'body');
    const ref = normalize(body.entityRef);
    const by = await authorize(req, jobCreatePermission, ref);
    if (!kinds.backup || !options.appDataClasses) throw new NotFoundError('Backups with manifests are not enabled');
    const instance = await instanceOf(ref);
    const plan = backupPlanOf(await options.appDataClasses(instance.app));
    if (plan.directories.length === 0) {
      throw new InputError(`${instance.app} names no directories to back up with checksums (spec.dataClasses)`);
    }
    const params = {
      storage: body.storage,
      ...plan,
      guest: { cluster: instance.cluster, node: instance.node, vmid: instance.vmid },
    };
    res.status(201).json(await enqueue(kinds.backup, ref, params, by));
  });

  router.post('/restores', async (req, res) => {
    const body = parse(restoreRequest, req.body, 'body');
    const ref = normalize(body.entityRef);
    const by = await authorize(req, jobCreatePermission, ref);
    const instance = await instanceOf(ref);
    const source = restoreSourceOf(instance, body);
    const params = {
      guest: source.guest,
      volid: body.volid,
      storage: body.storage ?? source.storage,
      ...(body.health ? { health: body.health } : {}),
    };
    // In place replaces the running guest: that job waits for an approval (POST /jobs/:id/approve) first.
    res.status(201).json(await enqueue(body.mode === 'in-place' ? kinds.restoreInPlace : kinds.restore, ref, params, by));
  });

  router.get('/drills', async (req, res) => {
    const { entityRef } = parse(entityQuery, req.query, 'query');
    const ref = normalize(entityRef);
    await authorize(req, jobReadPermission, ref);
    res.json({ items: await drills.list({ entityRefs: [ref] }) });
  });

  router.post('/drills', async (req, res) => {
    const body = parse(drillRequest, req.body, 'body');
    const ref = normalize(body.entityRef);
    const by = await authorize(req, jobCreatePermission, ref);
    const instance = await instanceOf(ref);
    const params = {
      guest: { cluster: instance.cluster, node: instance.node, vmid: instance.vmid },
      storage: body.storage ?? instance.storage,
      ...(body.health ? { health: body.health } : {}),
    };
    res.status(201).json(await enqueue(kinds.drill, ref, params, by));
  });

  return router;
}

/**
 * The guest whose archive a restore reads, and the storage its disks go to by default: the instance's current
 * guest, or the former guest the request names with `from`, where the archive still lives after a migration.
 */
function restoreSourceOf(instance: InstanceRecord, request: RestoreRequest): { guest: GuestLocation; storage: string } {
  const { from } = request;
  if (!from) return { guest: guestOf(instance), storage: instance.storage };
  if (request.mode === 'in-place') {
    throw new InputError(
      `A backup of a former guest is restored as a new guest only: in place replaces the instance's current guest, ${describeGuest(instance)}`,
    );
  }
  const former = instance.formerGuests.find(guest => sameGuest(guest, from));
  if (!former) throw new InputError(`${describeGuest(from)} is not a former guest of ${instance.name}`);
  if (archiveVmidOf(request.volid) !== former.vmid) {
    throw new InputError(`${request.volid} is not a vzdump archive of guest ${former.vmid}`);
  }
  return { guest: guestOf(former), storage: former.storage };
}

function sameGuest(a: GuestLocation, b: GuestLocation): boolean {
  return a.cluster === b.cluster && a.node === b.node && a.vmid === b.vmid;
}

function describeGuest(guest: GuestLocation): string {
  return `guest ${guest.vmid} on ${guest.cluster}/${guest.node}`;
}

function guestOf(placement: GuestLocation): GuestLocation {
  return { cluster: placement.cluster, node: placement.node, vmid: placement.vmid };
}

function normalize(ref: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref));
  } catch (error) {
    throw new InputError(`Invalid entity ref "${ref}": ${(error as Error).message}`);
  }
}

function parse<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map(i => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new InputError(`Invalid ${what}: ${issues.join('; ')}`);
  }
  return result.data;
}

/**
 * What a backup with a manifest covers: the directories of the app's `directories` data classes, and the quiesce
 * commands of all its data classes so the manifest and the snapshot agree. Each command runs once: a quiesce
 * command where it is first named (the app stops before its Redis), an unquiesce command where it is last named
 * (Redis starts before the app).
 */
export function backupPlanOf(dataClasses: DataClass[]) {
  const directories = dataClasses.flatMap(dataClass => (dataClass.kind === 'directories' ? dataClass.directories : []));
  const quiesce = dataClasses.flatMap(dataClass => dataClass.quiesce ?? []);
  const unquiesce = dataClasses.flatMap(dataClass => dataClass.unquiesce ?? []);
  return {
    directories: [...new Set(directories)],
    quiesce: onlyFirst(quiesce),
    unquiesce: onlyFirst([...unquiesce].reverse()).reverse(),
  };
}

function onlyFirst(commands: string[][]): string[][] {
  const seen = new Set<string>();
  return commands.filter(argv => !seen.has(JSON.stringify(argv)) && seen.add(JSON.stringify(argv)));
}
