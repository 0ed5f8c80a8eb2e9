import { createApiFactory, discoveryApiRef, fetchApiRef } from '@backstage/core-plugin-api';
import { fediversityApiRef, FediversityUiClient } from './FediversityUiApi';

/** The legacy frontend system's factory of the Fediversity API (the new system uses the ApiBlueprint in alpha). */
export const fediversityApiFactory = createApiFactory({
  api: fediversityApiRef,
  deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
  factory: ({ discoveryApi, fetchApi }) => new FediversityUiClient({ discoveryApi, fetchApi }),
});
