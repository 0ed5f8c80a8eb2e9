import { createRouteRef } from '@backstage/core-plugin-api';
import { convertLegacyRouteRef } from '@backstage/core-compat-api';

/** The Jobs page (every job the user may read, with filters); legacy ref, converted for the new frontend system. */
export const jobsRouteRef = createRouteRef({ id: 'fediversity:jobs' });
export const jobsRouteRefNfs = convertLegacyRouteRef(jobsRouteRef);
