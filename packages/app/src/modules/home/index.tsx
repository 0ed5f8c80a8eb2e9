import { Navigate } from 'react-router-dom';
import {
  PageBlueprint,
  createFrontendModule,
} from '@backstage/frontend-plugin-api';

/** There is no home page yet: the root path opens the catalog. */
const rootRedirect = PageBlueprint.make({
  name: 'root-redirect',
  params: {
    path: '/',
    noHeader: true,
    loader: async () => <Navigate to="/catalog" replace />,
  },
});

export const homeModule = createFrontendModule({
  pluginId: 'app',
  extensions: [rootRedirect],
});
