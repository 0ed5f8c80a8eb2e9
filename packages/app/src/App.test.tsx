import { render, screen } from '@testing-library/react';
import App from './App';
import { startFakeAuthBackend } from './modules/signIn/testing';

describe('App', () => {
  it('boots the app and shows the guest sign-in page once the auth backend answers', async () => {
    // Still starting on the first request, as after `npm start` or a restart.
    const backend = await startFakeAuthBackend([503, 200]);
    process.env = {
      NODE_ENV: 'test',
      APP_CONFIG: [
        {
          data: {
            app: { title: 'Test' },
            backend: { baseUrl: backend.url },
          },
          context: 'test',
        },
      ] as any,
    };

    try {
      render(App.createRoot());

      expect(
        await screen.findByText(/Waiting for the portal backend/, {}, { timeout: 60_000 }),
      ).toBeInTheDocument();
      expect(
        await screen.findByText('Fediversity portal', {}, { timeout: 60_000 }),
      ).toBeInTheDocument();
      expect(screen.getByRole('button', { name: /enter/i })).toBeInTheDocument();
      expect(backend.answered).toEqual([503, 200]);
    } finally {
      await backend.stop();
    }
  }, 120_000);
});
