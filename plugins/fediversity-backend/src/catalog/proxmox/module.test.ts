import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import { EventsService, eventsServiceRef } from '@backstage/plugin-events-node';
import { PveClustersService, pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
import request from 'supertest';
import { INSTANCES_TOPIC } from '../../instances/types';
import { pveClustersServiceFactory } from '../../proxmox';
import { catalogModuleFediversityProxmox } from './module';
import { closingDatabaseServiceFactory } from '../../testUtils';

jest.setTimeout(90_000);

/**
 * The real catalog backend with this module and the default PVE clusters service: without any
 * fediversity.proxmox configuration the embedded simulator's demo cluster must show up in the catalog.
 */
let services: { clusters: PveClustersService; events: EventsService } | undefined;
/** Hands the test the backend's clusters and events services. */
const servicesProbe = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'test-services-probe',
  register(reg) {
    reg.registerInit({
      deps: { clusters: pveClustersServiceRef, events: eventsServiceRef },
      async init(deps) {
        services = deps;
      },
    });
  },
});

describe('catalogModuleFediversityProxmox', () => {
  it('puts the embedded demo cluster into the catalog, and a new guest at once when an instance is announced', async () => {
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleFediversityProxmox,
        servicesProbe,
        pveClustersServiceFactory,
        closingDatabaseServiceFactory,
        mockServices.scheduler.factory({ includeInitialDelayedTasksOnStartup: true }),
        mockServices.rootConfig.factory({
          data: {
            catalog: {
              processingInterval: { seconds: 1 },
              rules: [{ allow: ['Resource', 'Component', 'Group', 'User', 'Location', 'System'] }],
            },
          },
        }),
      ],
    });
    try {
      const getEntity = async (name: string): Promise<Entity | undefined> => {
        const response = await request(backend.server).get(`/api/catalog/entities/by-name/resource/default/${name}`);
        return response.status === 200 ? response.body : undefined;
      };
      let guest: Entity | undefined;
      const deadline = Date.now() + 60_000;
      while (!guest?.relations?.length && Date.now() < deadline) {
        guest = await getEntity('demo-ct-101');
        if (!guest?.relations?.length) await new Promise(resolve => setTimeout(resolve, 500));
      }
      expect(guest?.spec).toMatchObject({ type: 'lxc-container', owner: 'group:default/platform-team' });
      expect(guest?.relations).toEqual(
        expect.arrayContaining([
          { type: 'dependsOn', targetRef: 'resource:default/demo-pve-a' },
          { type: 'dependsOn', targetRef: 'resource:default/demo-pve-a-local-zfs' },
          { type: 'ownedBy', targetRef: 'group:default/platform-team' },
        ]),
      );
      expect(guest?.metadata.annotations?.['fediversity.eu/demo']).toBe('true');
      for (const name of ['demo', 'demo-pve-b', 'demo-pve-c-local-zfs', 'demo-ct-103']) {
        expect((await getEntity(name))?.metadata.name).toBe(name);
      }

      // A guest made after the listing (a migration's target) shows up on the instance event, not 2 minutes later.
      const { client } = services!.clusters.get('demo');
      const vmid = await client.nextId();
      await client.waitForTask(
        await client.createContainer('pve-b', { vmid, ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz', storage: 'local-zfs' }),
      );
      await services!.events.publish({ topic: INSTANCES_TOPIC, eventPayload: { id: 'i-1', name: 'moved' } });
      let created: Entity | undefined;
      const soon = Date.now() + 20_000;
      while (!created && Date.now() < soon) {
        created = await getEntity(`demo-ct-${vmid}`);
        if (!created) await new Promise(resolve => setTimeout(resolve, 250));
      }
      expect(created?.spec).toMatchObject({ type: 'lxc-container' });
    } finally {
      await backend.stop();
    }
  });
});
