import { Knex } from 'knex';
import { FileManifest } from './manifest';

const MANIFESTS = 'fediversity_backup_manifests';

export interface BackupManifest {
  backupId: string;
  entityRef: string;
  jobId?: string;
  directories: string[];
  files: FileManifest;
  takenAt: number;
}

/** The file manifests taken with backups, by backup id (vzdump volid). */
export class ManifestStore {
  constructor(private readonly db: Knex) {}

  /** One manifest per backup; a retried step recording the same backup again keeps the first. */
  async record(manifest: BackupManifest): Promise<void> {
    const existing = await this.db(MANIFESTS).where({ backup_id: manifest.backupId }).first();
    if (existing) return;
    await this.db(MANIFESTS).insert({
      backup_id: manifest.backupId,
      entity_ref: manifest.entityRef,
      job_id: manifest.jobId ?? null,
      directories_json: JSON.stringify(manifest.directories),
      files_json: JSON.stringify(manifest.files),
      file_count: Object.keys(manifest.files).length,
      taken_at: manifest.takenAt,
    });
  }

  async get(backupId: string): Promise<BackupManifest | undefined> {
    const row = await this.db(MANIFESTS).where({ backup_id: backupId }).first();
    if (!row) return undefined;
    return {
      backupId: row.backup_id,
      entityRef: row.entity_ref,
      jobId: row.job_id ?? undefined,
      directories: JSON.parse(row.directories_json),
      files: JSON.parse(row.files_json),
      takenAt: Number(row.taken_at),
    };
  }

  /** Which of these backups have a manifest (for the backup listing). */
  async backupIdsWithManifest(entityRef: string): Promise<Set<string>> {
    const rows = await this.db(MANIFESTS).where({ entity_ref: entityRef }).select('backup_id');
    return new Set(rows.map(row => row.backup_id));
  }
}
