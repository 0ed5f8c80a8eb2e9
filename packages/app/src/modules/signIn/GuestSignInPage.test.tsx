import { screen, waitFor } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { discoveryApiRef } from '@backstage/core-plugin-api';
import { GuestSignInPage } from './GuestSignInPage';
import { startFakeAuthBackend } from './testing';

/** Where Backstage's SignInPage remembers the provider a person signed in with (core-components providers.tsx). */
const REMEMBERED_PROVIDER_KEY = '@backstage/core:SignInPage:provider';

async function renderPage(backendUrl: string) {
  const onSignInSuccess = jest.fn();
  await renderInTestApp(<GuestSignInPage onSignInSuccess={onSignInSuccess} />, {
    apis: [[discoveryApiRef, { getBaseUrl: async (pluginId: string) => `${backendUrl}/api/${pluginId}` }]],
  });
  return onSignInSuccess;
}

describe('GuestSignInPage', () => {
  afterEach(() => localStorage.clear());

  it('restores a remembered guest session once a restarting backend answers, never offering to sign in again', async () => {
    localStorage.setItem(REMEMBERED_PROVIDER_KEY, 'guest');
    const backend = await startFakeAuthBackend([503, 503, 200]);
    try {
      const onSignInSuccess = await renderPage(backend.url);
      expect(await screen.findByText(/Waiting for the portal backend/)).toBeInTheDocument();
      expect(screen.queryByRole('button', { name: /enter/i })).not.toBeInTheDocument();

      await waitFor(() => expect(onSignInSuccess).toHaveBeenCalledTimes(1), { timeout: 15_000 });
      const identity = onSignInSuccess.mock.calls[0][0];
      expect(await identity.getBackstageIdentity()).toMatchObject({ userEntityRef: 'user:default/guest' });
      expect(screen.queryByRole('button', { name: /enter/i })).not.toBeInTheDocument();
    } finally {
      await backend.stop();
    }
  });
});
