import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { RELATION_OWNED_BY } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { SignalsService } from '@backstage/plugin-signals-node';
import { JOB_SIGNAL_CHANNEL, JobIdSignal, JobUpdateSignal } from '@fediversity/plugin-fediversity-common';
import { JobRecord } from './records';

/** What the publisher reads once a change has committed. */
export interface JobStateReader {
  getJob(id: string): Promise<JobRecord | undefined>;
  lastEventSeq(jobId: string): Promise<number>;
}

/** The refs owning an entity (whose members may read its jobs), or undefined when they are unknown. */
export type EntityOwnersLookup = (entityRef: string) => Promise<string[] | undefined>;

export interface JobSignalPublisherOptions {
  jobs: JobStateReader;
  signals: SignalsService;
  owners: EntityOwnersLookup;
  logger: LoggerService;
  /** Changes of one job within this window make one signal: a running step can log many lines a second. */
  coalesceMs?: number;
}

const DEFAULT_COALESCE_MS = 250;

/**
 * Announces job changes on the `fediversity:jobs` signals channel, so pages refetch instead of polling.
 * The message carries ids and state only (see JobSignalMessage); the page then reads the job through the API,
 * which checks its permissions. Recipients are the owners of the job's entity, the same people the owner policy
 * lets read the job; when they cannot be resolved, the job id alone is broadcast.
 */
export class JobSignalPublisher {
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  private stopped = false;

  constructor(private readonly options: JobSignalPublisherOptions) {}

  /** The JobStore's change listener: called after a commit that changed the job. Never throws. */
  readonly jobChanged = (jobId: string): void => {
    if (this.stopped || this.pending.has(jobId)) return;
    const timer = setTimeout(() => this.publishPending(jobId), this.options.coalesceMs ?? DEFAULT_COALESCE_MS);
    // A pending signal must not keep the process alive.
    timer.unref?.();
    this.pending.set(jobId, timer);
  };

  /** Publishes every pending change now (tests, and a last chance before shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending.keys()].map(jobId => this.publishPending(jobId)));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private async publishPending(jobId: string): Promise<void> {
    clearTimeout(this.pending.get(jobId));
    // Removed before reading, so a change committed while this publishes schedules a signal of its own.
    this.pending.delete(jobId);
    try {
      await this.publish(jobId);
    } catch (error) {
      this.options.logger.warn(`Could not signal a change of job ${jobId}: ${error}`);
    }
  }

  private async publish(jobId: string): Promise<void> {
    const { jobs, signals, logger } = this.options;
    const job = await jobs.getJob(jobId);
    if (!job) return;
    const owners = await this.options.owners(job.entityRef).catch(error => {
      logger.debug(`Could not resolve the owners of ${job.entityRef}: ${error}`);
      return undefined;
    });
    if (!owners?.length) {
      await signals.publish<JobIdSignal>({
        recipients: { type: 'broadcast' },
        channel: JOB_SIGNAL_CHANNEL,
        message: { jobId: job.id },
      });
      return;
    }
    await signals.publish<JobUpdateSignal>({
      recipients: { type: 'user', entityRef: owners },
      channel: JOB_SIGNAL_CHANNEL,
      message: {
        jobId: job.id,
        entityRef: job.entityRef,
        status: job.status,
        lastSeq: await jobs.lastEventSeq(job.id),
      },
    });
  }
}

/**
 * An entity's owners as the catalog relates them (`ownedBy`, what the owner policy's IS_ENTITY_OWNER rule reads),
 * remembered for `ttlMs` so a busy job does not cost a catalog request per signal. Unknown owners are not
 * remembered: the entity of a job that provisions it may appear in the catalog any moment.
 */
export function catalogEntityOwners(options: {
  catalog: CatalogService;
  auth: AuthService;
  ttlMs?: number;
  now?: () => number;
}): EntityOwnersLookup {
  const { catalog, auth, ttlMs = 30_000, now = Date.now } = options;
  const remembered = new Map<string, { owners: string[]; until: number }>();
  return async entityRef => {
    const hit = remembered.get(entityRef);
    if (hit && hit.until > now()) return hit.owners;
    remembered.delete(entityRef);
    const entity = await catalog.getEntityByRef(entityRef, { credentials: await auth.getOwnServiceCredentials() });
    const owners = [
      ...new Set((entity?.relations ?? []).filter(r => r.type === RELATION_OWNED_BY).map(r => r.targetRef)),
    ];
    if (!owners.length) return undefined;
    remembered.set(entityRef, { owners, until: now() + ttlMs });
    return owners;
  };
}
