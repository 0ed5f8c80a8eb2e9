import { screen } from '@testing-library/react';
import { renderTestApp } from '@backstage/frontend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock, createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { fediversityApiRef } from './api';
import { instanceOverviewEntityCard, nodeGuestsEntityCard, storageUsageEntityCard } from './managementExtensions';
import { fakeApi, instanceEntity } from './components/common/__testUtils__';

const probeCard = EntityCardBlueprint.make({ name: 'probe', params: { loader: async () => <div>probe card</div> } });
const node: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: { name: 'demo-pve-a', namespace: 'default', annotations: { 'fediversity.eu/pve-cluster': 'demo', 'fediversity.eu/pve-node': 'pve-a' } },
  spec: { type: 'proxmox-node', owner: 'group:default/platform' },
};

function renderEntityPage(entity: Entity) {
  return renderTestApp({
    extensions: [createTestEntityPage({ entity }), probeCard, instanceOverviewEntityCard, nodeGuestsEntityCard, storageUsageEntityCard],
    apis: [
      [catalogApiRef, catalogApiMock({ entities: [node, instanceEntity] })],
      [fediversityApiRef, fakeApi()],
    ],
  });
}

describe('management entity cards', () => {
  it('puts the instance card on service components only', async () => {
    renderEntityPage(instanceEntity);
    expect(await screen.findByRole('heading', { name: 'Instance' })).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Guests' })).not.toBeInTheDocument();
  });

  it('puts the guests and storage cards on Proxmox nodes, without the instance card', async () => {
    renderEntityPage(node);
    expect(await screen.findByRole('heading', { name: 'Guests' })).toBeInTheDocument();
    expect(await screen.findByRole('heading', { name: 'Storage usage' })).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Instance' })).not.toBeInTheDocument();
  });
});
