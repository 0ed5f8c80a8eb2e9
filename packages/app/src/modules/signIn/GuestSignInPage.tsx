import { useEffect, useState } from 'react';
import { Progress, SignInPage } from '@backstage/core-components';
import { discoveryApiRef, useApi } from '@backstage/core-plugin-api';
import { SignInPageProps } from '@backstage/plugin-app-react';
import { Flex, Text } from '@backstage/ui';
import { waitForAuthBackend } from './waitForAuthBackend';

/**
 * Backstage's guest sign-in page, shown once the auth backend answers.
 *
 * On a page load Backstage restores a remembered guest session with one refresh request and takes its failure as
 * "signed out", so a reload while the backend restarted (under `npm start` it restarts on every source change)
 * showed the sign-in page again; and "Enter" while the backend is down fails with an offer of a legacy guest
 * token. Waiting for the backend first avoids both: the session is restored, or the sign-in page works.
 */
export function GuestSignInPage(props: SignInPageProps) {
  const discoveryApi = useApi(discoveryApiRef);
  const [backendAnswered, setBackendAnswered] = useState(false);
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    const controller = new AbortController();
    waitForAuthBackend({
      refreshUrl: async () => `${await discoveryApi.getBaseUrl('auth')}/guest/refresh`,
      onRetry: (_attempt, reason) => setProblem(reason),
      signal: controller.signal,
    }).then(
      () => setBackendAnswered(true),
      () => {},
    );
    return () => controller.abort();
  }, [discoveryApi]);

  if (!backendAnswered) {
    return (
      <Flex direction="column" gap="3" p="6" aria-live="polite">
        <Progress />
        {problem && <Text>Waiting for the portal backend (it may be restarting): {problem}. Retrying…</Text>}
      </Flex>
    );
  }
  return <SignInPage {...props} providers={['guest']} title="Fediversity portal" />;
}
