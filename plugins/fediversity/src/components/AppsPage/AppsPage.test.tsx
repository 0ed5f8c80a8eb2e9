import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { CatalogApi } from '@backstage/catalog-client';
import { catalogApiRef, entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { AppsPage } from './AppsPage';
import { forgejo, instanceOf, mastodon } from '../../testEntities';

function renderPage(catalogApi: CatalogApi, initialPath = '/fediversity/apps') {
  return renderInTestApp(<AppsPage />, {
    apis: [[catalogApiRef, catalogApi]],
    initialRouteEntries: [initialPath],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
  });
}

describe('AppsPage', () => {
  it('lists every app definition with owner and licence, linking to its entity page', async () => {
    renderPage(catalogApiMock({ entities: [mastodon, forgejo, instanceOf('mastodon')] }));

    const mastodonLink = await screen.findByRole('link', { name: 'Mastodon' });
    expect(mastodonLink).toHaveAttribute('href', expect.stringContaining('/catalog/default/component/mastodon'));
    expect(screen.getByRole('link', { name: 'Forgejo' })).toBeInTheDocument();
    expect(screen.getByText('AGPL-3.0-only')).toBeInTheDocument();
    expect(screen.getByText('GPL-3.0-or-later')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'dev-team' })).toBeInTheDocument();
    // The instance is not an app definition.
    expect(screen.queryByText('social-example-org')).not.toBeInTheDocument();
  });

  it('filters by weakness/threat keyword typed into the search field', async () => {
    renderPage(catalogApiMock({ entities: [mastodon, forgejo] }));
    await screen.findByRole('link', { name: 'Mastodon' });

    await userEvent.type(screen.getByRole('searchbox', { name: /keyword/i }), 'spam');

    await waitFor(() => expect(screen.queryByRole('link', { name: 'Mastodon' })).not.toBeInTheDocument());
    expect(screen.getByRole('link', { name: 'Forgejo' })).toBeInTheDocument();
    expect(screen.getByText('spam')).toBeInTheDocument();
  });

  it('filters by owner from the URL', async () => {
    renderPage(
      catalogApiMock({ entities: [mastodon, forgejo] }),
      '/fediversity/apps?owner=group%3Adefault%2Fdev-team',
    );

    expect(await screen.findByRole('link', { name: 'Forgejo' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Mastodon' })).not.toBeInTheDocument();
  });

  it('says when nothing matches and when the catalog holds no apps', async () => {
    const { unmount } = renderPage(catalogApiMock({ entities: [mastodon] }), '/fediversity/apps?keyword=nothing-like-this');
    expect(await screen.findByText('No app matches these filters.')).toBeInTheDocument();
    unmount();

    renderPage(catalogApiMock({ entities: [instanceOf('mastodon')] }));
    expect(await screen.findByText('The catalog holds no app definitions yet.')).toBeInTheDocument();
  });

  it('shows a loading state, then the error when the catalog fails', async () => {
    let fail: (error: Error) => void = () => {};
    const catalogApi = catalogApiMock.mock({
      getEntities: () => new Promise((_resolve, reject) => (fail = reject)),
    });
    renderPage(catalogApi);

    expect(await screen.findByRole('status')).toHaveTextContent('Loading app definitions…');

    fail(new Error('catalog unreachable'));
    expect(await screen.findByText(/catalog unreachable/)).toBeInTheDocument();
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
  });
});
