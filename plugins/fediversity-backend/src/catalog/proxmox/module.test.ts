import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import request from 'supertest';
import { pveClustersServiceFactory } from '../../proxmox';
import { catalogModuleFediversityProxmox } from './module';

jest.setTimeout(90_000);

/**
 * The real catalog backend with this module and the default PVE clusters service: without any
 * fediversity.proxmox configuration the embedded simulator's demo cluster must show up in the catalog.
 */
describe('catalogModuleFediversityProxmox', () => {
  it('puts the embedded demo cluster into the catalog', async () => {
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleFediversityProxmox,
        pveClustersServiceFactory,
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
    } finally {
      await backend.stop();
    }
  });
});
