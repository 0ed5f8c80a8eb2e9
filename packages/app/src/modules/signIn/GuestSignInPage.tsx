import { useEffect, useState } from 'react';
import { Progress, SignInPage } from '@backstage/core-components';
import { discoveryApiRef, useApi } from '@backstage/core-plugin-api';
import { SignInPageProps } from '@backstage/plugin-app-react';
import { Flex, Text } from '@backstage/ui';
import { waitForAuthBackend } from './waitForAuthBackend';

/**
 * Where Backstage's SignInPage remembers the provider a person signed in with (core-components' providers.tsx);
 * on a page load it restores that provider's session, and only then shows the sign-in page if that fails.
 */
export const REMEMBERED_PROVIDER_KEY = '@backstage/core:SignInPage:provider';

/**
 * Backstage's guest sign-in page, which for someone who signed in before waits until the auth backend answers.
 * Backstage restores the remembered guest session with one refresh request and treats its failure as "signed out",
 * so a reload while the backend restarts (under `npm start` it restarts on every source change) showed the sign-in
 * page again. A first visit gets the sign-in page at once, as before.
 */
export function GuestSignInPage(props: SignInPageProps) {
  const discoveryApi = useApi(discoveryApiRef);
  const [mayShow, setMayShow] = useState(() => localStorage.getItem(REMEMBERED_PROVIDER_KEY) === null);
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    if (mayShow) return undefined;
    const controller = new AbortController();
    waitForAuthBackend({
      refreshUrl: async () => `${await discoveryApi.getBaseUrl('auth')}/guest/refresh`,
      onRetry: (_attempt, reason) => setProblem(reason),
      signal: controller.signal,
    }).then(
      () => setMayShow(true),
      () => {},
    );
    return () => controller.abort();
  }, [discoveryApi, mayShow]);

  if (!mayShow) {
    return (
      <Flex direction="column" gap="3" p="6" aria-live="polite">
        <Progress />
        {problem && <Text>Waiting for the portal backend to restore your session (it may be restarting): {problem}. Retrying…</Text>}
      </Flex>
    );
  }
  return <SignInPage {...props} providers={['guest']} title="Fediversity portal" />;
}
