import { ReactElement } from 'react';
import { Entity } from '@backstage/catalog-model';
import { renderInTestApp, mockApis } from '@backstage/frontend-test-utils';
import { EntityProvider, catalogApiRef, entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { SignalApi, signalApiRef } from '@backstage/plugin-signals-react';
import { JOB_SIGNAL_CHANNEL, JobDetails, JobSignalMessage, JobStep } from '@fediversity/plugin-fediversity-common';
import { FediversityUiApi, fediversityApiRef } from '../../../api';

/** Test doubles for the cards: a fake backend API (every method a jest.fn), fixtures, and a render helper. */

export function fakeApi(overrides: Partial<FediversityUiApi> = {}): jest.Mocked<FediversityUiApi> {
  const never = () => new Promise<never>(() => {});
  return {
    listJobs: jest.fn(async () => ({ items: [] })),
    getJob: jest.fn(never),
    listJobEvents: jest.fn(never),
    createJob: jest.fn(never),
    cancelJob: jest.fn(never),
    approveJob: jest.fn(never),
    retryJob: jest.fn(never),
    getGuestStatus: jest.fn(never),
    listNodeStorage: jest.fn(async () => []),
    listClusters: jest.fn(async () => [{ name: 'demo', demo: true }]),
    listNodes: jest.fn(async () => []),
    listSchedules: jest.fn(async () => []),
    runSchedule: jest.fn(never),
    setScheduleEnabled: jest.fn(never),
    listRecoveryPoints: jest.fn(async () => []),
    updateSchedule: jest.fn(never),
    listRecoveryPointHistory: jest.fn(async () => []),
    listReplicationRuns: jest.fn(async () => []),
    listBackups: jest.fn(async () => ({ items: [], unavailable: [] })),
    restoreBackup: jest.fn(never),
    listDrills: jest.fn(async () => []),
    startDrill: jest.fn(never),
    preflightMigration: jest.fn(never),
    startMigration: jest.fn(never),
    decommissionSource: jest.fn(never),
    ...overrides,
  } as jest.Mocked<FediversityUiApi>;
}

/** An error as the client throws it for a backend error body. */
export function apiError(status: number, name: string, message: string): Error {
  return Object.assign(new Error(message), { name, status });
}

export const instanceEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'social-example-org',
    namespace: 'default',
    title: 'mastodon at social.example.org',
    annotations: {
      'fediversity.eu/app': 'component:default/mastodon',
      'fediversity.eu/instance-id': 'i-1',
      'fediversity.eu/pve-cluster': 'demo',
      'fediversity.eu/pve-node': 'pve-a',
      'fediversity.eu/vmid': '105',
      'fediversity.eu/pve-storage': 'local-zfs',
      'fediversity.eu/flake': 'path:/var/lib/fediversity/flake#social',
      'fediversity.eu/demo': 'true',
    },
    links: [
      { url: 'https://social.example.org/', title: 'social.example.org' },
      { url: 'https://grafana.example.org/d/social', title: 'Grafana dashboard' },
    ],
  },
  spec: {
    type: 'service',
    lifecycle: 'production',
    owner: 'group:default/social-team',
    dependsOn: ['resource:default/demo-ct-105', 'resource:default/demo-pve-a-local-zfs', 'component:default/dns'],
  },
};

export const ENTITY_REF = 'component:default/social-example-org';

export function step(index: number, name: string, status: JobStep['status'], extra: Partial<JobStep> = {}): JobStep {
  return { index, name, status, attempt: status === 'pending' ? 0 : 1, pointOfNoReturn: false, approvalGate: false, ...extra };
}

export function job(overrides: Partial<JobDetails> = {}): JobDetails {
  return {
    id: 'job-1',
    kind: 'instance.migrate',
    entityRef: ENTITY_REF,
    status: 'running',
    attempt: 1,
    cancelRequested: false,
    createdBy: 'user:default/guest',
    createdAt: '2026-11-25T23:00:00.000Z',
    updatedAt: '2026-11-25T23:01:00.000Z',
    progress: { stepsDone: 0, stepsTotal: 0 },
    params: {},
    steps: [],
    ...overrides,
  };
}

/** The browser side of Backstage signals without the socket: what the backend would push, delivered in order. */
export class FakeSignals implements SignalApi {
  private readonly subscribers = new Set<{ channel: string; onMessage: (message: any) => void }>();

  subscribe<TMessage>(channel: string, onMessage: (message: TMessage) => void) {
    const subscriber = { channel, onMessage };
    this.subscribers.add(subscriber);
    return { unsubscribe: () => this.subscribers.delete(subscriber) };
  }

  push(message: JobSignalMessage, channel = JOB_SIGNAL_CHANNEL) {
    for (const subscriber of this.subscribers) if (subscriber.channel === channel) subscriber.onMessage(message);
  }

  get subscriptions() {
    return this.subscribers.size;
  }
}

/**
 * Renders `element` on the entity page of `entity` with the fake API and an allow/deny permission decision;
 * with `signals`, the app has a signals API (without, pages fall back to polling).
 */
export function renderWithEntity(
  element: ReactElement,
  options: { api: FediversityUiApi; entity?: Entity; allow?: boolean; catalogEntities?: Entity[]; signals?: SignalApi },
) {
  return renderInTestApp(<EntityProvider entity={options.entity ?? instanceEntity}>{element}</EntityProvider>, {
    apis: [
      ...(options.signals ? [[signalApiRef, options.signals] as const] : []),
      [fediversityApiRef, options.api],
      [permissionApiRef, mockApis.permission({ authorize: options.allow === false ? AuthorizeResult.DENY : AuthorizeResult.ALLOW })],
      [catalogApiRef, catalogApiMock({ entities: options.catalogEntities ?? [] })],
    ],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
  });
}

/**
 * The same instance under another name. usePermission caches decisions per permission and resource across
 * renders (SWR), so a test that denies uses an entity no earlier test was allowed on.
 */
export function instanceNamed(name: string): Entity {
  return { ...instanceEntity, metadata: { ...instanceEntity.metadata, name } };
}
