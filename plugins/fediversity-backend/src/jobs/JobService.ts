import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  JobDetails,
  JobStatus,
  JobSummary,
  ListJobEventsResponse,
  TERMINAL_JOB_STATUSES,
} from '@fediversity/plugin-fediversity-common';
import { randomUUID } from 'node:crypto';
import { Clock, sleep } from './clock';
import { toJobDetails, toJobEvent, toJobSummary } from './apiMapping';
import { JobEngine } from './JobEngine';
import { JobStore } from './JobStore';
import { JobRecord } from './records';
import { findSecretValues, Redactor } from './redaction';
import { JobKindRegistry } from './registry';
import { JobKind } from './types';

export interface JobServiceOptions {
  store: JobStore;
  kinds: JobKindRegistry;
  clock: Clock;
  redactor: Redactor;
  /** This instance's worker, if it runs one: woken on new work, told about cancellations. */
  engine?: JobEngine;
}

/** How often a long-poll looks for new events. */
const EVENT_POLL_MS = 250;

/**
 * The job operations behind the API, without HTTP or permissions (the router checks those first).
 * Everything it returns passes the redactor.
 */
export class JobService {
  constructor(private readonly options: JobServiceOptions) {}

  listKinds(): JobKind<any>[] {
    return this.options.kinds.list();
  }

  /** The kind, or InputError: a request naming an unknown kind is a bad request. */
  kindOf(name: string): JobKind<any> {
    const kind = this.options.kinds.get(name);
    if (!kind) throw new InputError(`Unknown job kind ${name}`);
    return kind;
  }

  async create(
    request: { kind: string; entityRef: string; params: Record<string, unknown>; idempotencyKey?: string },
    createdBy: string,
  ): Promise<{ job: JobDetails; created: boolean }> {
    const kind = this.kindOf(request.kind);
    const entityRef = normalizeEntityRef(request.entityRef);
    const secretPaths = findSecretValues(request.params);
    if (secretPaths.length) {
      throw new InputError(
        `${secretPaths.join(', ')}: pass secrets as references ({ "secretRef": "<name>" }), never as values`,
      );
    }
    let params = request.params;
    if (kind.params) {
      const parsed = kind.params.safeParse(request.params);
      if (!parsed.success) {
        throw new InputError(`Invalid params for ${kind.kind}: ${parsed.error.issues.map(formatIssue).join('; ')}`);
      }
      params = parsed.data as Record<string, unknown>;
    }
    const { job, created } = await this.options.store.createJob(
      {
        id: randomUUID(),
        kind: kind.kind,
        entityRef,
        params,
        steps: kind.steps,
        createdBy,
        idempotencyKey: request.idempotencyKey,
      },
      this.options.clock.now(),
    );
    if (created) this.options.engine?.wake();
    return { job: await this.details(job), created };
  }

  /** The stored job, for authorisation against its entity before anything else is done. */
  async getRecord(id: string): Promise<JobRecord> {
    const job = await this.options.store.getJob(id);
    if (!job) throw new NotFoundError(`No job ${id}`);
    return job;
  }

  async get(id: string): Promise<JobDetails> {
    return this.details(await this.getRecord(id));
  }

  async list(filter: {
    entityRefs: string[];
    status?: JobStatus;
    kind?: string;
    limit: number;
    offset: number;
  }): Promise<JobSummary[]> {
    const jobs = await this.options.store.listJobs(filter);
    const counts = await this.options.store.stepCounts(jobs.map(job => job.id));
    return this.options.redactor.redact(
      jobs.map(job => toJobSummary(job, counts.get(job.id)?.done, counts.get(job.id)?.total)),
    );
  }

  /** Entities with jobs matching the filter; the router keeps those the caller may read. */
  listEntityRefs(filter: { status?: JobStatus; kind?: string }): Promise<string[]> {
    return this.options.store.listEntityRefs(filter);
  }

  /** Events after `after`; waits up to `waitMs` for some when there are none and the job is not over. */
  async events(
    id: string,
    options: { after: number; limit: number; waitMs: number; signal?: AbortSignal },
  ): Promise<ListJobEventsResponse> {
    const clock = this.options.clock;
    const deadline = clock.now() + options.waitMs;
    for (;;) {
      const job = await this.getRecord(id);
      const events = await this.options.store.listEvents(id, options.after, options.limit);
      const over = TERMINAL_JOB_STATUSES.includes(job.status);
      if (events.length || over || clock.now() >= deadline || options.signal?.aborted) {
        return this.options.redactor.redact({
          events: events.map(toJobEvent),
          lastSeq: events.length ? events[events.length - 1].seq : options.after,
          jobStatus: job.status,
        });
      }
      await sleep(clock, Math.min(EVENT_POLL_MS, deadline - clock.now()), options.signal).catch(() => {});
    }
  }

  async cancel(id: string, by: string, reason?: string): Promise<JobDetails> {
    await this.options.store.requestCancel(id, by, reason, this.options.clock.now());
    await this.options.engine?.checkCancellation(id);
    return this.get(id);
  }

  async approve(id: string, by: string, options: { step?: string; comment?: string }): Promise<JobDetails> {
    await this.options.store.approve(id, { by, ...options }, this.options.clock.now());
    this.options.engine?.wake();
    return this.get(id);
  }

  async retry(id: string, by: string): Promise<JobDetails> {
    await this.options.store.retry(id, by, this.options.clock.now());
    this.options.engine?.wake();
    return this.get(id);
  }

  private async details(job: JobRecord): Promise<JobDetails> {
    const steps = await this.options.store.getSteps(job.id);
    return this.options.redactor.redact(toJobDetails(job, steps, this.options.kinds.get(job.kind)));
  }
}

/** `Component:Default/x` and `component:default/x` are one entity. */
export function normalizeEntityRef(ref: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref));
  } catch (error) {
    throw new InputError(`Invalid entity ref "${ref}": ${(error as Error).message}`);
  }
}

function formatIssue(issue: { path: (string | number)[]; message: string }) {
  return issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}
