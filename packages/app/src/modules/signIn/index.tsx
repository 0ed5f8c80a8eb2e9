import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { GuestSignInPage } from './GuestSignInPage';

/**
 * Guest sign-in: the backend's guest provider issues the identity configured in app-config.yaml
 * (`auth.providers.guest.userEntityRef`).
 */
const guestSignInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => GuestSignInPage,
  },
});

export const signInModule = createFrontendModule({
  pluginId: 'app',
  extensions: [guestSignInPage],
});
