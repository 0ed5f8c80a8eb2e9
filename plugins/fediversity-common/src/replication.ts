/** A replication run with its schedule's data class, as `GET /replication/runs` lists them (newest first). */
export interface ReplicationRun {
  jobId: string;
  scheduleId?: string;
  dataClass?: string;
  status: string;
  createdBy: string;
  createdAt: number;
  finishedAt?: number;
  error?: string;
}
