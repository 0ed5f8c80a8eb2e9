import { screen } from '@testing-library/react';
import { renderTestApp } from '@backstage/frontend-test-utils';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock, createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import { Entity } from '@backstage/catalog-model';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { swotEntityCard } from './alpha';
import { instanceOf, mastodon } from './testEntities';

/** A card on every entity, so a test knows the entity page has rendered its cards. */
const probeCard = EntityCardBlueprint.make({
  name: 'probe',
  params: { loader: async () => <div>probe card</div> },
});

function renderEntityPage(entity: Entity) {
  return renderTestApp({
    extensions: [createTestEntityPage({ entity }), probeCard, swotEntityCard],
    apis: [[catalogApiRef, catalogApiMock({ entities: [mastodon] })]],
  });
}

describe('swot entity card extension', () => {
  it('appears on an app definition', async () => {
    renderEntityPage(mastodon);
    expect(await screen.findByRole('heading', { name: 'SWOT' })).toBeInTheDocument();
    expect(screen.getByText('Reference ActivityPub server')).toBeInTheDocument();
  });

  it('appears on an entity that uses an app', async () => {
    renderEntityPage(instanceOf('component:default/mastodon'));
    expect(await screen.findByText('Reference ActivityPub server')).toBeInTheDocument();
  });

  it('is left off entities that neither are nor use an app', async () => {
    const unrelated = { ...instanceOf('x'), metadata: { name: 'website', namespace: 'default' } };
    renderEntityPage(unrelated);
    expect(await screen.findByText('probe card')).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'SWOT' })).not.toBeInTheDocument();
  });
});
