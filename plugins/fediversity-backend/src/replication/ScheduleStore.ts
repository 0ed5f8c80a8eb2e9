import { randomUUID } from 'node:crypto';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import { z } from 'zod';
import { scheduleParamsSchemas, ScheduleStrategy } from '@fediversity/plugin-fediversity-common';
import { CreateScheduleRequest, createScheduleRequestSchema, updateScheduleRequestSchema } from './params';

const SCHEDULES = 'fediversity_replication_schedules';
const POINTS = 'fediversity_recovery_points';
const HISTORY = 'fediversity_recovery_point_history';

export interface ReplicationSchedule {
  id: string;
  entityRef: string;
  dataClass: string;
  strategy: ScheduleStrategy;
  intervalSeconds: number;
  enabled: boolean;
  params: Record<string, unknown>;
  nextRunAt: number;
  lastJobId?: string;
  lastTryAt?: number;
  failCount: number;
  lastError?: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface RecoveryPoint {
  scheduleId: string;
  entityRef: string;
  dataClass: string;
  consistentAt: number;
  recordedAt: number;
  jobId?: string;
  detail: Record<string, unknown>;
}

/** One recorded recovery point of the past: what the plot of the recovery point over time draws. */
export interface RecoveryPointSample {
  scheduleId: string;
  dataClass: string;
  consistentAt: number;
  recordedAt: number;
  jobId?: string;
}

/** Proxmox's replication backoff: 5, 10, 15 minutes after the first failures, then every 30 minutes. */
export function retryDelayMs(failCount: number): number {
  return 60_000 * (failCount <= 3 ? 5 * failCount : 30);
}

function validateParams(strategy: ScheduleStrategy, params: unknown): Record<string, unknown> {
  const result = (scheduleParamsSchemas[strategy] as z.ZodTypeAny).safeParse(params);
  if (!result.success) {
    const issues = result.error.issues.map(i => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new InputError(`Invalid ${strategy} schedule params: ${issues.join('; ')}`);
  }
  return result.data;
}

/** Replication schedules (one per instance and data class) and the recovery point of each. */
export class ScheduleStore {
  constructor(private readonly db: Knex) {}

  async create(request: CreateScheduleRequest, createdBy: string, now: number): Promise<ReplicationSchedule> {
    const parsed = createScheduleRequestSchema.parse(request);
    const params = validateParams(parsed.strategy, parsed.params);
    const existing = await this.db(SCHEDULES).where({ entity_ref: parsed.entityRef, data_class: parsed.dataClass }).first();
    if (existing) throw new ConflictError(`${parsed.entityRef} already has a schedule for ${parsed.dataClass}`);
    const id = randomUUID();
    await this.db(SCHEDULES).insert({
      id,
      entity_ref: parsed.entityRef,
      data_class: parsed.dataClass,
      strategy: parsed.strategy,
      interval_seconds: parsed.intervalSeconds,
      enabled: parsed.enabled,
      params_json: JSON.stringify(params),
      next_run_at: now,
      fail_count: 0,
      created_by: createdBy,
      created_at: now,
      updated_at: now,
    });
    return this.get(id);
  }

  async update(id: string, patch: z.input<typeof updateScheduleRequestSchema>, now: number) {
    const current = await this.get(id);
    const parsed = updateScheduleRequestSchema.parse(patch);
    const row: Record<string, unknown> = { updated_at: now };
    if (parsed.intervalSeconds !== undefined) row.interval_seconds = parsed.intervalSeconds;
    if (parsed.enabled !== undefined) row.enabled = parsed.enabled;
    if (parsed.params !== undefined) row.params_json = JSON.stringify(validateParams(current.strategy, parsed.params));
    await this.db(SCHEDULES).where({ id }).update(row);
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    // Explicitly, as SQLite enforces the foreign keys' cascade only when told to.
    await this.db.transaction(async trx => {
      await trx(HISTORY).where({ schedule_id: id }).delete();
      await trx(POINTS).where({ schedule_id: id }).delete();
      await trx(SCHEDULES).where({ id }).delete();
    });
  }

  async get(id: string): Promise<ReplicationSchedule> {
    const row = await this.db(SCHEDULES).where({ id }).first();
    if (!row) throw new NotFoundError(`No replication schedule ${id}`);
    return toSchedule(row);
  }

  async list(filter: { entityRefs?: string[] } = {}): Promise<ReplicationSchedule[]> {
    let query = this.db(SCHEDULES).orderBy(['entity_ref', 'data_class']);
    if (filter.entityRefs) query = query.whereIn('entity_ref', filter.entityRefs);
    return (await query).map(toSchedule);
  }

  async listEntityRefs(): Promise<string[]> {
    return (await this.db(SCHEDULES).distinct('entity_ref')).map(row => row.entity_ref);
  }

  /** Enabled schedules whose last run has not been looked at since it was enqueued. */
  async withPendingOutcome(): Promise<ReplicationSchedule[]> {
    const rows = await this.db(SCHEDULES).where({ enabled: true }).whereNotNull('last_job_id');
    return rows.map(toSchedule);
  }

  async due(now: number): Promise<ReplicationSchedule[]> {
    const rows = await this.db(SCHEDULES).where({ enabled: true }).andWhere('next_run_at', '<=', now).orderBy('next_run_at');
    return rows.map(toSchedule);
  }

  /** A run was enqueued: the next one is due an interval later (unless it fails). */
  async markEnqueued(id: string, jobId: string, now: number, expectedNextRunAt: number): Promise<boolean> {
    const schedule = await this.get(id);
    const changed = await this.db(SCHEDULES)
      .where({ id, next_run_at: expectedNextRunAt })
      .update({ last_job_id: jobId, last_try_at: now, next_run_at: now + schedule.intervalSeconds * 1000, updated_at: now });
    return changed === 1;
  }

  /** The last run failed: count it once and push the next try out by the backoff. */
  async markFailed(id: string, jobId: string, error: string, now: number): Promise<ReplicationSchedule> {
    const schedule = await this.get(id);
    const failCount = schedule.failCount + 1;
    await this.db(SCHEDULES)
      .where({ id, last_job_id: jobId })
      .update({
        fail_count: failCount,
        last_error: error.slice(0, 2000),
        // The failed job stays in the jobs table; forgetting it here keeps it from being counted twice.
        last_job_id: null,
        next_run_at: (schedule.lastTryAt ?? now) + retryDelayMs(failCount),
        updated_at: now,
      });
    return this.get(id);
  }

  /**
   * Records the newest consistent copy of a schedule's data class. Strategies call this before pruning older
   * copies; a point older than the recorded one is ignored (a late retry never moves the recovery point back).
   */
  async recordRecoveryPoint(
    scheduleId: string,
    point: { consistentAt: number; jobId?: string; detail: Record<string, unknown> },
    now: number,
  ): Promise<void> {
    const schedule = await this.get(scheduleId);
    const row = {
      schedule_id: scheduleId,
      entity_ref: schedule.entityRef,
      data_class: schedule.dataClass,
      consistent_at: point.consistentAt,
      recorded_at: now,
      job_id: point.jobId ?? null,
      detail_json: JSON.stringify(point.detail),
    };
    await this.db.transaction(async trx => {
      const existing = await trx(POINTS).where({ schedule_id: scheduleId }).first();
      const newer = !existing || Number(existing.consistent_at) <= point.consistentAt;
      if (!existing) await trx(POINTS).insert(row);
      else if (newer) await trx(POINTS).where({ schedule_id: scheduleId }).update(row);
      if (newer) {
        const { detail_json: _detail, ...sample } = row;
        await trx(HISTORY).insert(sample);
      }
      await trx(SCHEDULES).where({ id: scheduleId }).update({ fail_count: 0, last_error: null, updated_at: now });
    });
  }

  /** Past recovery points of an instance, oldest first, at most `limit` per schedule (the newest ones). */
  async recoveryPointHistory(filter: { entityRefs: string[]; limit?: number; since?: number }): Promise<RecoveryPointSample[]> {
    const limit = filter.limit ?? 200;
    const samples: RecoveryPointSample[] = [];
    for (const schedule of await this.list({ entityRefs: filter.entityRefs })) {
      let query = this.db(HISTORY).where({ schedule_id: schedule.id }).orderBy('recorded_at', 'desc').limit(limit);
      if (filter.since !== undefined) query = query.andWhere('recorded_at', '>=', filter.since);
      for (const row of (await query).reverse()) {
        samples.push({
          scheduleId: row.schedule_id,
          dataClass: row.data_class,
          consistentAt: Number(row.consistent_at),
          recordedAt: Number(row.recorded_at),
          jobId: row.job_id ?? undefined,
        });
      }
    }
    return samples;
  }

  async recoveryPoints(filter: { entityRefs?: string[] } = {}): Promise<RecoveryPoint[]> {
    let query = this.db(POINTS).orderBy(['entity_ref', 'data_class']);
    if (filter.entityRefs) query = query.whereIn('entity_ref', filter.entityRefs);
    return (await query).map(row => ({
      scheduleId: row.schedule_id,
      entityRef: row.entity_ref,
      dataClass: row.data_class,
      consistentAt: Number(row.consistent_at),
      recordedAt: Number(row.recorded_at),
      jobId: row.job_id ?? undefined,
      detail: JSON.parse(row.detail_json),
    }));
  }
}

function toSchedule(row: any): ReplicationSchedule {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    dataClass: row.data_class,
    strategy: row.strategy,
    intervalSeconds: Number(row.interval_seconds),
    enabled: Boolean(row.enabled),
    params: JSON.parse(row.params_json),
    nextRunAt: Number(row.next_run_at),
    lastJobId: row.last_job_id ?? undefined,
    lastTryAt: row.last_try_at === null || row.last_try_at === undefined ? undefined : Number(row.last_try_at),
    failCount: Number(row.fail_count),
    lastError: row.last_error ?? undefined,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
