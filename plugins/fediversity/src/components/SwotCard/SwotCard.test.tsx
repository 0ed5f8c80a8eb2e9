import { screen, within } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import {
  EntityProvider,
  catalogApiRef,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { Entity } from '@backstage/catalog-model';
import { SwotCard } from './SwotCard';
import { appDefinition, instanceOf, mastodon } from '../../testEntities';

function renderCard(entity: Entity, catalogApi = catalogApiMock({ entities: [mastodon] })) {
  return renderInTestApp(
    <EntityProvider entity={entity}>
      <SwotCard />
    </EntityProvider>,
    {
      apis: [[catalogApiRef, catalogApi]],
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
    },
  );
}

async function quadrant(title: string) {
  return screen.findByRole('region', { name: title });
}

describe('SwotCard', () => {
  it("shows an app definition's own SWOT in four quadrants without asking the catalog", async () => {
    const catalogApi = catalogApiMock.mock();
    renderCard(mastodon, catalogApi);

    expect(await screen.findByRole('heading', { name: 'SWOT' })).toBeInTheDocument();
    expect(within(await quadrant('Strengths')).getByText('Reference ActivityPub server')).toBeInTheDocument();
    expect(within(await quadrant('Weaknesses')).getByText(/Rails, Sidekiq/)).toBeInTheDocument();
    expect(within(await quadrant('Opportunities')).getByText('Institutions leaving X')).toBeInTheDocument();
    expect(within(await quadrant('Threats')).getByText(/storage grows/)).toBeInTheDocument();
    expect(catalogApi.getEntityByRef).not.toHaveBeenCalled();
  });

  it('links the sources a SWOT was checked against, and says plainly when it was not checked', async () => {
    const checked = appDefinition('synapse', {
      swot: { ...mastodon.spec!.swot as object, sources: ['https://docs.example.org/backups/'] },
    });
    const { unmount } = await renderCard(checked);
    expect(await screen.findByRole('link', { name: 'docs.example.org' })).toHaveAttribute(
      'href',
      'https://docs.example.org/backups/',
    );
    expect(screen.queryByText(/Not checked against a primary source/)).not.toBeInTheDocument();
    unmount();

    await renderCard(mastodon);
    expect(await screen.findByText(/Not checked against a primary source yet/)).toBeInTheDocument();
  });

  it('marks an empty quadrant and says so when an app has no SWOT at all', async () => {
    const partial = appDefinition('gotosocial', { swot: { strengths: ['Small'] } });
    const { unmount } = await renderCard(partial);
    expect(within(await quadrant('Threats')).getByText('None recorded')).toBeInTheDocument();
    unmount();

    await renderCard(appDefinition('hedgedoc'));
    expect(await screen.findByText('No SWOT analysis is recorded for this app yet.')).toBeInTheDocument();
    expect(screen.queryByRole('region', { name: 'Strengths' })).not.toBeInTheDocument();
  });

  it('shows the SWOT of the app definition an instance uses, with a link to it', async () => {
    renderCard(instanceOf('component:default/mastodon'));

    expect(await screen.findByText('Reference ActivityPub server')).toBeInTheDocument();
    expect(screen.getByText(/From the app definition/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /mastodon/i })).toHaveAttribute(
      'href',
      expect.stringContaining('/catalog/default/component/mastodon'),
    );
  });

  it('resolves a short app reference as a Component in the instance namespace', async () => {
    const catalogApi = catalogApiMock.mock({ getEntityByRef: jest.fn(async () => mastodon) });
    renderCard(instanceOf('mastodon'), catalogApi);

    expect(await screen.findByText('Reference ActivityPub server')).toBeInTheDocument();
    expect(catalogApi.getEntityByRef).toHaveBeenCalledWith('component:default/mastodon');
  });

  it('shows a loading state while the app definition is fetched', async () => {
    const catalogApi = catalogApiMock.mock({ getEntityByRef: () => new Promise(() => {}) });
    renderCard(instanceOf('component:default/mastodon'), catalogApi);

    expect(await screen.findByText('Loading the app definition…')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'SWOT' })).toBeInTheDocument();
  });

  it('explains when the referenced app definition is missing from the catalog', async () => {
    renderCard(instanceOf('component:default/pixelfed'));

    expect(await screen.findByText('Could not load the app definition')).toBeInTheDocument();
    expect(screen.getByText(/component:default\/pixelfed is not in the catalog/)).toBeInTheDocument();
  });

  it('shows the error when the catalog request fails', async () => {
    const catalogApi = catalogApiMock.mock({
      getEntityByRef: async () => {
        throw new Error('catalog unreachable');
      },
    });
    renderCard(instanceOf('component:default/mastodon'), catalogApi);

    expect(await screen.findByText('catalog unreachable')).toBeInTheDocument();
  });
});
