import { AuthService, BackstageCredentials, DiscoveryService } from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type { CreateJobRequest } from '@fediversity/plugin-fediversity-common';

/** What provisioning records about an instance (POST /api/fediversity/instances). */
export interface InstanceRegistration {
  idempotencyKey: string;
  name: string;
  app: string;
  owner: string;
  domain: string;
  os: 'nixos' | 'linux';
  cluster: string;
  node: string;
  vmid: number;
  storage: string;
  storageShared: boolean;
  coreServices: string[];
  flakeRef?: string;
  ipv4?: string;
  ssh?: {
    host: string;
    port: number;
    username: string;
    hostKey: string;
    hostKeyFingerprint: string;
    trust: 'tofu' | 'demo' | 'configured';
  };
  demo: boolean;
  taskId?: string;
}

export interface RegisteredInstance {
  id: string;
  name: string;
  guestRef: string;
  storageRef: string;
}

export interface EnqueuedJob {
  id: string;
  status: string;
}

/** A replication schedule request (POST /api/fediversity/replication/schedules); params per strategy. */
export interface ScheduleRequest {
  entityRef: string;
  dataClass: string;
  strategy: 'rsync' | 'postgres' | 'zfs' | 'blob';
  intervalSeconds: number;
  enabled?: boolean;
  params: Record<string, unknown>;
}

/** A type, not an interface, so it is JSON for ctx.checkpoint. */
export type CreatedSchedule = {
  id: string;
  entityRef: string;
  dataClass: string;
  strategy: string;
  intervalSeconds: number;
};

/** The fediversity backend as the actions use it: the instance store and the job engine. */
export interface FediversityBackend {
  registerInstance(registration: InstanceRegistration, onBehalfOf: BackstageCredentials): Promise<RegisteredInstance>;
  enqueueJob(request: CreateJobRequest, onBehalfOf: BackstageCredentials): Promise<EnqueuedJob>;
  /** Rejects with a ResponseError of status 409 when the instance already has a schedule for the data class. */
  createSchedule(request: ScheduleRequest, onBehalfOf: BackstageCredentials): Promise<CreatedSchedule>;
  listSchedules(entityRef: string, onBehalfOf: BackstageCredentials): Promise<CreatedSchedule[]>;
}

/**
 * Calls the fediversity plugin's REST API with a token for the task's initiator (the backend then checks that
 * person's ownership and permissions) or, for tasks a service started, the scaffolder's own service token.
 */
export class FediversityBackendClient implements FediversityBackend {
  constructor(private readonly services: { discovery: DiscoveryService; auth: AuthService }) {}

  registerInstance(registration: InstanceRegistration, onBehalfOf: BackstageCredentials) {
    return this.post<RegisteredInstance>('/instances', registration, onBehalfOf);
  }

  enqueueJob(request: CreateJobRequest, onBehalfOf: BackstageCredentials) {
    return this.post<EnqueuedJob>('/jobs', request, onBehalfOf);
  }

  createSchedule(request: ScheduleRequest, onBehalfOf: BackstageCredentials) {
    return this.post<CreatedSchedule>('/replication/schedules', request, onBehalfOf);
  }

  async listSchedules(entityRef: string, onBehalfOf: BackstageCredentials) {
    const query = new URLSearchParams({ entityRef });
    const { items } = await this.call<{ items: CreatedSchedule[] }>('GET', `/replication/schedules?${query}`, undefined, onBehalfOf);
    return items;
  }

  private post<T>(path: string, body: unknown, onBehalfOf: BackstageCredentials): Promise<T> {
    return this.call<T>('POST', path, body, onBehalfOf);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body: unknown, onBehalfOf: BackstageCredentials): Promise<T> {
    const { token } = await this.services.auth.getPluginRequestToken({
      onBehalfOf,
      targetPluginId: 'fediversity',
    });
    const baseUrl = await this.services.discovery.getBaseUrl('fediversity');
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      const error = await ResponseError.fromResponse(response);
      // The backend's own message says what was wrong (which field, which owner); keep it in the task log.
      error.message = `${method} /api/fediversity${path} failed with ${response.status}: ${error.body?.error?.message ?? error.message}`;
      throw error;
    }
    return (await response.json()) as T;
  }
}
