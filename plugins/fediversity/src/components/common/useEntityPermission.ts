import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import { usePermission } from '@backstage/plugin-permission-react';

/** Whether the signed-in user may take `permission` on `entity` (the default policy: its owners only). */
export function useEntityPermission(permission: ResourcePermission<'catalog-entity'>, entity: Entity) {
  const { allowed, loading } = usePermission({ permission, resourceRef: stringifyEntityRef(entity) });
  return { allowed: allowed && !loading, loading };
}
