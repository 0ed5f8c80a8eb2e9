import { createApiRef } from '@backstage/core-plugin-api';
import {
  FediversityApi,
  FediversityApiError,
  FediversityClient,
  FediversityClientOptions,
} from '@fediversity/plugin-fediversity-common';
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
}

export const fediversityApiRef = createApiRef<FediversityUiApi>({ id: 'plugin.fediversity.api' });

/** Talks to `/api/fediversity` with the signed-in user's token (through the fetchApi). */
export class FediversityUiClient extends FediversityClient implements FediversityUiApi {
  constructor(private readonly uiOptions: FediversityClientOptions) {
    super(uiOptions);
  }

  getGuestStatus(guest: { cluster: string; node: string; vmid: number }) {
    const path = [guest.cluster, guest.node, String(guest.vmid)].map(encodeURIComponent).join('/');
    return this.send<GuestLiveStatus>('GET', `/guests/${path}/status`);
  }

  async listNodeStorage(place: { cluster: string; node: string }) {
    const path = [place.cluster, place.node].map(encodeURIComponent).join('/');
    return (await this.send<{ items: NodeStorageUsage[] }>('GET', `/nodes/${path}/storage`)).items;
  }

  async listClusters() {
    return (await this.send<{ items: ClusterSummary[] }>('GET', '/clusters')).items;
  }

  async listNodes(cluster: string) {
    return (await this.send<{ items: NodeCapacity[] }>('GET', `/nodes/${encodeURIComponent(cluster)}`)).items;
  }

  async listSchedules(entityRef: string) {
    return (await this.send<{ items: ReplicationSchedule[] }>('GET', `/replication/schedules?${ref(entityRef)}`)).items;
  }

  runSchedule(scheduleId: string) {
    return this.send<EnqueuedJob>('POST', `/replication/schedules/${encodeURIComponent(scheduleId)}/run`, {});
  }

  setScheduleEnabled(scheduleId: string, enabled: boolean) {
    return this.send<ReplicationSchedule>('PATCH', `/replication/schedules/${encodeURIComponent(scheduleId)}`, {
      enabled,
    });
  }

  updateSchedule(scheduleId: string, patch: { enabled?: boolean; intervalSeconds?: number }) {
    return this.send<ReplicationSchedule>('PATCH', `/replication/schedules/${encodeURIComponent(scheduleId)}`, patch);
  }

  async listRecoveryPointHistory(entityRef: string) {
    const path = `/replication/recovery-points/history?${ref(entityRef)}`;
    return (await this.send<{ items: RecoveryPointSample[] }>('GET', path)).items;
  }

  async listReplicationRuns(entityRef: string) {
    return (await this.send<{ items: ReplicationRun[] }>('GET', `/replication/runs?${ref(entityRef)}`)).items;
  }

  async listRecoveryPoints(entityRef: string) {
    return (await this.send<{ items: RecoveryPoint[] }>('GET', `/replication/recovery-points?${ref(entityRef)}`))
      .items;
  }

  listBackups(entityRef: string) {
    return this.send<BackupListing>('GET', `/backups?${ref(entityRef)}`);
  }

  restoreBackup(request: RestoreRequest) {
    return this.send<EnqueuedJob>('POST', '/restores', request);
  }

  async listDrills(entityRef: string) {
    return (await this.send<{ items: DrillRecord[] }>('GET', `/drills?${ref(entityRef)}`)).items;
  }

  startDrill(entityRef: string) {
    return this.send<EnqueuedJob>('POST', '/drills', { entityRef });
  }

  preflightMigration(entityRef: string, target: MigrationTarget) {
    return this.send<MigrationPreflight>('POST', '/migrations/preflight', { entityRef, target });
  }

  startMigration(entityRef: string, target: MigrationTarget) {
    return this.send<EnqueuedJob>('POST', '/migrations', { entityRef, target });
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const baseUrl = await this.uiOptions.discoveryApi.getBaseUrl('fediversity');
    const response = await this.uiOptions.fetchApi.fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      const payload = await response.json().catch(() => undefined);
      throw new FediversityApiError(
        response.status,
        payload?.error?.name ?? 'Error',
        payload?.error?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
      );
    }
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

function ref(entityRef: string) {
  return new URLSearchParams({ entityRef }).toString();
}
