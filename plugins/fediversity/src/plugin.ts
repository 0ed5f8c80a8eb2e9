import {
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
} from '@backstage/core-plugin-api';
import { appsRouteRef } from './routes';
import { fediversityApiFactory } from './api/apiFactory';

/** The legacy-frontend-system plugin. New apps use the default export of `@fediversity/plugin-fediversity/alpha`. */
export const fediversityPlugin = createPlugin({
  id: 'fediversity',
  apis: [fediversityApiFactory],
  routes: {
    apps: appsRouteRef,
  },
});

/** SWOT of an app definition, or of the app an entity uses (annotation `fediversity.eu/app`). */
export const EntitySwotCard = fediversityPlugin.provide(
  createComponentExtension({
    name: 'EntitySwotCard',
    component: {
      lazy: () => import('./components/SwotCard').then(m => m.SwotCard),
    },
  }),
);

/** Every app definition, filterable by owner and by weakness/threat keyword. */
export const FediversityAppsPage = fediversityPlugin.provide(
  createRoutableExtension({
    name: 'FediversityAppsPage',
    component: () => import('./components/AppsPage').then(m => m.AppsPage),
    mountPoint: appsRouteRef,
  }),
);
