import { Entity, parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { NotFoundError } from '@backstage/errors';
import useAsync from 'react-use/esm/useAsync';

/**
 * Loads the app definition named by `appRef` (an entity ref; kind defaults to Component and the namespace to the
 * referring entity's). Resolves to an error when the ref is malformed or the catalog does not hold the entity.
 */
export function useAppDefinition(appRef: string, defaultNamespace: string) {
  const catalogApi = useApi(catalogApiRef);
  return useAsync(async (): Promise<Entity> => {
    const ref = stringifyEntityRef(
      parseEntityRef(appRef, { defaultKind: 'component', defaultNamespace }),
    );
    const app = await catalogApi.getEntityByRef(ref);
    if (!app) {
      throw new NotFoundError(`The app definition ${ref} is not in the catalog`);
    }
    return app;
  }, [catalogApi, appRef, defaultNamespace]);
}
