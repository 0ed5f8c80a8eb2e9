import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import catalogModuleScaffolderEntityModel from '@backstage/plugin-catalog-backend-module-scaffolder-entity-model';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- provisioning is tested end to end, against the fediversity backend the module talks to
import fediversityPlugin, {
  catalogModuleFediversityInstances,
  catalogModuleFediversityProcessor,
  catalogModuleFediversityProxmox,
  fediversityModuleInstances,
  fediversityModuleReplication,
} from '@fediversity/plugin-fediversity-backend';
import { eventsServiceFactory } from '@backstage/plugin-events-node';
import { staticPveClustersServiceFactory } from '@fediversity/plugin-fediversity-node';
import { guestAccessServiceRef } from '../lib/guestAccess';
import { scaffolderModuleFediversity } from '../module';
import { SimulatorHarness, startSimulatorHarness } from './simulatorHarness';

export const REPO_ROOT = join(__dirname, '../../../..');

/** Owns the demo organisation's teams, so the instance store lets it record instances for them. */
export const TEST_USER = 'user:default/mock';
const OWNERSHIP = [TEST_USER, 'group:default/social-team', 'group:default/collaboration-team', 'group:default/platform-team'];

export interface ProvisioningBackend {
  baseUrl: string;
  harness: SimulatorHarness;
  /** Runs a template through the scaffolder's REST API and waits for the task to end. */
  runTemplate(name: string, values: Record<string, unknown>): Promise<TaskResult>;
  getJson<T = any>(path: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export interface TaskResult {
  id: string;
  status: string;
  /** Wall time from the POST to the task's end as the client saw it. */
  durationMs: number;
  /** The task's log messages, for failures. */
  log: string[];
}

/**
 * The real scaffolder and catalog backends with our modules, the fediversity backend plugin (instance store, job
 * engine), the PVE simulator with the demo topology and demo SSH hosts: the embedded default, in one process.
 * The catalog reads catalog/ and templates/; providers refresh every second so new entities show up quickly.
 */
export async function startProvisioningBackend(
  options: { speed?: number; proxmoxRefreshSeconds?: number } = {},
): Promise<ProvisioningBackend> {
  const harness = await startSimulatorHarness({ speed: options.speed ?? 100, production: true });
  const every = (seconds: number) => ({ frequency: { seconds }, timeout: { seconds: 60 } });
  const backend = await startTestBackend({
    features: [
      scaffolderPlugin,
      catalogPlugin,
      catalogModuleScaffolderEntityModel,
      scaffolderModuleFediversity,
      fediversityPlugin,
      fediversityModuleInstances,
      fediversityModuleReplication,
      catalogModuleFediversityInstances,
      catalogModuleFediversityProxmox,
      catalogModuleFediversityProcessor,
      staticPveClustersServiceFactory(harness.clusters.list()),
      createServiceFactory({ service: guestAccessServiceRef, deps: {}, factory: () => harness.guestAccess }),
      createServiceFactory({
        service: coreServices.userInfo,
        deps: {},
        factory: () => mockServices.userInfo({ userEntityRef: TEST_USER, ownershipEntityRefs: OWNERSHIP }),
      }),
      // In-process events shared by the plugins (the mock gives each plugin its own bus).
      eventsServiceFactory,
      // The real scheduler: the mock one runs tasks only at startup, and the providers must refresh.
      schedulerServiceFactory,
      mockServices.rootConfig.factory({
        data: {
          catalog: {
            // As app-config.yaml: new entities are stitched within 200 ms of processing.
            stitchingStrategy: { pollingInterval: { milliseconds: 200 } },
            rules: [{ allow: ['Component', 'System', 'API', 'Resource', 'Location', 'Domain', 'Group', 'User', 'Template'] }],
            locations: [
              { type: 'file', target: join(REPO_ROOT, 'catalog/all.yaml') },
              { type: 'file', target: join(REPO_ROOT, 'templates/all.yaml'), rules: [{ allow: ['Template'] }] },
            ],
          },
          fediversity: {
            allowInMemoryDatabase: true,
            // Hourly: a new instance must reach the catalog through the instance store's event, not the schedule.
            instances: { schedule: every(3600) },
            // Only the refresh schedule of the embedded cluster; the clusters themselves come from the harness.
            proxmox: { clusters: [{ name: 'demo', schedule: every(options.proxmoxRefreshSeconds ?? 1) }] },
            jobs: { tickSeconds: 1 },
            // Schedules are created by the templates; their runs are the replication tests' business, not these.
            replication: { tickSeconds: 3600, drillIntervalHours: 0 },
          },
        },
      }),
    ],
  });
  const { port } = backend.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  const getJson = async <T,>(path: string) => {
    const response = await fetch(`${baseUrl}${path}`);
    return { status: response.status, body: (await response.json().catch(() => undefined)) as T };
  };

  async function waitForTemplate(name: string) {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if ((await getJson(`/api/catalog/entities/by-name/template/default/${name}`)).status === 200) return;
      await new Promise(resolve => setTimeout(resolve, 250));
    }
    const last = await getJson(`/api/catalog/entities/by-name/template/default/${name}`);
    throw new Error(`Template ${name} did not appear in the catalog (last answer ${last.status} ${JSON.stringify(last.body)})`);
  }

  return {
    baseUrl,
    harness,
    getJson,
    async runTemplate(name, values) {
      await waitForTemplate(name);
      const started = Date.now();
      const created = await fetch(`${baseUrl}/api/scaffolder/v2/tasks`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ templateRef: `template:default/${name}`, values }),
      });
      if (created.status !== 201) throw new Error(`POST /v2/tasks: ${created.status} ${await created.text()}`);
      const { id } = (await created.json()) as { id: string };
      // Checking the status every 100 ms measures the run to 0.1 s; the event stream would add up to 1 s (it polls).
      let task = await getJson<{ status: string }>(`/api/scaffolder/v2/tasks/${id}`);
      while (!['completed', 'failed', 'cancelled'].includes(task.body.status)) {
        await new Promise(resolve => setTimeout(resolve, 100));
        task = await getJson<{ status: string }>(`/api/scaffolder/v2/tasks/${id}`);
      }
      const durationMs = Date.now() - started;
      const events = await getJson<Array<{ createdAt: string; type: string; body: { stepId?: string; message?: string } }>>(
        `/api/scaffolder/v2/tasks/${id}/events`,
      );
      const log = events.body.map(event => `${event.createdAt} ${event.body?.stepId ?? ''} ${event.body?.message ?? event.type}`);
      return { id, status: task.body.status, durationMs, log };
    },
    async stop() {
      await backend.stop();
      await harness.stop();
    },
  };
}
