import {
  PageBlueprint,
  createFrontendPlugin,
} from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { convertLegacyRouteRefs } from '@backstage/core-compat-api';
import { RiApps2Line } from '@remixicon/react';
import { hasSwot } from './appDefinition';
import { appsRouteRef } from './routes';
import { managementExtensions } from './managementExtensions';

/** SWOT card on app definitions and on every entity that uses an app. */
export const swotEntityCard = EntityCardBlueprint.make({
  name: 'swot',
  params: {
    filter: hasSwot,
    loader: () =>
      import('./components/SwotCard').then(m => <m.SwotCard />),
  },
});

const legacyRoutes = convertLegacyRouteRefs({ apps: appsRouteRef });

/** The Apps page, with a nav item. */
export const appsPage = PageBlueprint.make({
  name: 'apps',
  params: {
    path: '/fediversity/apps',
    title: 'Apps',
    icon: <RiApps2Line />,
    routeRef: legacyRoutes.apps,
    loader: () =>
      import('./components/AppsPage').then(m => <m.AppsPage />),
  },
});

/** The Fediversity frontend plugin for the new frontend system. */
export default createFrontendPlugin({
  pluginId: 'fediversity',
  title: 'Fediversity',
  info: { packageJson: () => import('../package.json') },
  routes: legacyRoutes,
  extensions: [swotEntityCard, appsPage, ...managementExtensions],
});

export { fediversityScaffolderModule, nodePickerField, storagePickerField } from './scaffolderFields';
