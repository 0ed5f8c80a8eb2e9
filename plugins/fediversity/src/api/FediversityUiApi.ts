import { createApiRef } from '@backstage/core-plugin-api';
import { FediversityApi, FediversityClient } from '@fediversity/plugin-fediversity-common';
import {
  BackupListing,
  ClusterSummary,
  DrillRecord,
  EnqueuedJob,
  GuestLiveStatus,
  MigrationPreflight,
  MigrationTarget,
  NodeCapacity,
  NodeStorageUsage,
  RecoveryPoint,
  RecoveryPointSample,
  ReplicationRun,
  ReplicationSchedule,
  RestoreRequest,
} from './types';

/** The job API plus the instance routes the management UI uses (guests, replication, backups, migration). */
export interface FediversityUiApi extends FediversityApi {
  getGuestStatus(guest: { cluster: string; node: string; vmid: number }): Promise<GuestLiveStatus>;
  listNodeStorage(place: { cluster: string; node: string }): Promise<NodeStorageUsage[]>;
  listClusters(): Promise<ClusterSummary[]>;
  listNodes(cluster: string): Promise<NodeCapacity[]>;
  listSchedules(entityRef: string): Promise<ReplicationSchedule[]>;
  runSchedule(scheduleId: string): Promise<EnqueuedJob>;
  setScheduleEnabled(scheduleId: string, enabled: boolean): Promise<ReplicationSchedule>;
  /** Changes how often a schedule runs (and/or pauses it); owners only. */
  updateSchedule(scheduleId: string, patch: { enabled?: boolean; intervalSeconds?: number }): Promise<ReplicationSchedule>;
  listRecoveryPoints(entityRef: string): Promise<RecoveryPoint[]>;
  listRecoveryPointHistory(entityRef: string): Promise<RecoveryPointSample[]>;
  listReplicationRuns(entityRef: string): Promise<ReplicationRun[]>;
  listBackups(entityRef: string): Promise<BackupListing>;
  restoreBackup(request: RestoreRequest): Promise<EnqueuedJob>;
  listDrills(entityRef: string): Promise<DrillRecord[]>;
  startDrill(entityRef: string): Promise<EnqueuedJob>;
  /** Checks a migration target without changing anything. */
  preflightMigration(entityRef: string, target: MigrationTarget): Promise<MigrationPreflight>;
  startMigration(entityRef: string, target: MigrationTarget): Promise<EnqueuedJob>;
  /** Starts the job that destroys a completed migration's source guest once approved; owners only. */
  decommissionSource(migrationJobId: string): Promise<EnqueuedJob>;
}

export const fediversityApiRef = createApiRef<FediversityUiApi>({ id: 'plugin.fediversity.api' });

/** Talks to `/api/fediversity` with the signed-in user's token (through the fetchApi). */
export class FediversityUiClient extends FediversityClient implements FediversityUiApi {
  getGuestStatus(guest: { cluster: string; node: string; vmid: number }) {
    const path = [guest.cluster, guest.node, String(guest.vmid)].map(encodeURIComponent).join('/');
    return this.request<GuestLiveStatus>('GET', `/guests/${path}/status`);
  }

  async listNodeStorage(place: { cluster: string; node: string }) {
    const path = [place.cluster, place.node].map(encodeURIComponent).join('/');
    return (await this.request<{ items: NodeStorageUsage[] }>('GET', `/nodes/${path}/storage`)).items;
  }

  async listClusters() {
    return (await this.request<{ items: ClusterSummary[] }>('GET', '/clusters')).items;
  }

  async listNodes(cluster: string) {
    return (await this.request<{ items: NodeCapacity[] }>('GET', `/nodes/${encodeURIComponent(cluster)}`)).items;
  }

  async listSchedules(entityRef: string) {
    return (await this.request<{ items: ReplicationSchedule[] }>('GET', `/replication/schedules?${ref(entityRef)}`)).items;
  }

  runSchedule(scheduleId: string) {
    return this.request<EnqueuedJob>('POST', `/replication/schedules/${encodeURIComponent(scheduleId)}/run`, {});
  }

  setScheduleEnabled(scheduleId: string, enabled: boolean) {
    return this.request<ReplicationSchedule>('PATCH', `/replication/schedules/${encodeURIComponent(scheduleId)}`, {
      enabled,
    });
  }

  updateSchedule(scheduleId: string, patch: { enabled?: boolean; intervalSeconds?: number }) {
    return this.request<ReplicationSchedule>('PATCH', `/replication/schedules/${encodeURIComponent(scheduleId)}`, patch);
  }

  async listRecoveryPointHistory(entityRef: string) {
    const path = `/replication/recovery-points/history?${ref(entityRef)}`;
    return (await this.request<{ items: RecoveryPointSample[] }>('GET', path)).items;
  }

  async listReplicationRuns(entityRef: string) {
    return (await this.request<{ items: ReplicationRun[] }>('GET', `/replication/runs?${ref(entityRef)}`)).items;
  }

  async listRecoveryPoints(entityRef: string) {
    return (await this.request<{ items: RecoveryPoint[] }>('GET', `/replication/recovery-points?${ref(entityRef)}`))
      .items;
  }

  listBackups(entityRef: string) {
    return this.request<BackupListing>('GET', `/backups?${ref(entityRef)}`);
  }

  restoreBackup(request: RestoreRequest) {
    return this.request<EnqueuedJob>('POST', '/restores', request);
  }

  async listDrills(entityRef: string) {
    return (await this.request<{ items: DrillRecord[] }>('GET', `/drills?${ref(entityRef)}`)).items;
  }

  startDrill(entityRef: string) {
    return this.request<EnqueuedJob>('POST', '/drills', { entityRef });
  }

  preflightMigration(entityRef: string, target: MigrationTarget) {
    return this.request<MigrationPreflight>('POST', '/migrations/preflight', { entityRef, target });
  }

  startMigration(entityRef: string, target: MigrationTarget) {
    return this.request<EnqueuedJob>('POST', '/migrations', { entityRef, target });
  }

  decommissionSource(migrationJobId: string) {
    return this.request<EnqueuedJob>('POST', `/migrations/${encodeURIComponent(migrationJobId)}/decommission`, {});
  }
}

function ref(entityRef: string) {
  return new URLSearchParams({ entityRef }).toString();
}
