import { createRouteRef } from '@backstage/core-plugin-api';

/** The Apps page (every app definition, filterable by owner and SWOT keyword). */
export const appsRouteRef = createRouteRef({ id: 'fediversity:apps' });
