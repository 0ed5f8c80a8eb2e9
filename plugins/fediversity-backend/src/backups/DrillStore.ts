import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';

const DRILLS = 'fediversity_restore_drills';

export interface DrillRecord {
  id: string;
  entityRef: string;
  jobId: string;
  backupId: string;
  recoveryPointAt?: number;
  recoveryTimeMs: number;
  result: 'passed' | 'failed';
  detail: Record<string, unknown>;
  finishedAt: number;
}

/** The measured figures of each restore drill. */
export class DrillStore {
  constructor(private readonly db: Knex) {}

  /** One record per drill job (a retried record step does not add a second). */
  async record(drill: Omit<DrillRecord, 'id'>): Promise<DrillRecord> {
    const existing = await this.db(DRILLS).where({ job_id: drill.jobId }).first();
    if (existing) return toRecord(existing);
    const id = randomUUID();
    await this.db(DRILLS).insert({
      id,
      entity_ref: drill.entityRef,
      job_id: drill.jobId,
      backup_id: drill.backupId,
      recovery_point_at: drill.recoveryPointAt ?? null,
      recovery_time_ms: drill.recoveryTimeMs,
      result: drill.result,
      detail_json: JSON.stringify(drill.detail),
      finished_at: drill.finishedAt,
    });
    return { id, ...drill };
  }

  async list(filter: { entityRefs?: string[]; limit?: number } = {}): Promise<DrillRecord[]> {
    let query = this.db(DRILLS).orderBy('finished_at', 'desc').limit(filter.limit ?? 100);
    if (filter.entityRefs) query = query.whereIn('entity_ref', filter.entityRefs);
    return (await query).map(toRecord);
  }
}

function toRecord(row: any): DrillRecord {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    jobId: row.job_id,
    backupId: row.backup_id,
    recoveryPointAt: row.recovery_point_at === null ? undefined : Number(row.recovery_point_at),
    recoveryTimeMs: Number(row.recovery_time_ms),
    result: row.result,
    detail: JSON.parse(row.detail_json),
    finishedAt: Number(row.finished_at),
  };
}
