import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';
import {
  AuthorizeResult,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import { PermissionPolicy, PolicyQuery, PolicyQueryUser } from '@backstage/plugin-permission-node';
import { fediversityPermissions } from '@fediversity/plugin-fediversity-common';

const ourPermissions = new Set(fediversityPermissions.map(permission => permission.name));

/**
 * The portal's default policy: everything outside the Fediversity plugins is allowed (as Backstage's
 * allow-all policy does), and the Fediversity permissions are allowed on an entity only for its owners,
 * i.e. when the entity's owner is one of the user's ownership refs (the user or one of their groups).
 * Services calling on their own behalf have no ownership, so they are denied: they must act for a user.
 */
export class FediversityOwnerPolicy implements PermissionPolicy {
  async handle(request: PolicyQuery, user?: PolicyQueryUser): Promise<PolicyDecision> {
    const { permission } = request;
    if (!ourPermissions.has(permission.name)) return { result: AuthorizeResult.ALLOW };
    if (!isResourcePermission(permission, RESOURCE_TYPE_CATALOG_ENTITY)) return { result: AuthorizeResult.DENY };
    const claims = user?.info.ownershipEntityRefs ?? [];
    if (!claims.length) return { result: AuthorizeResult.DENY };
    // The catalog evaluates the condition with its IS_ENTITY_OWNER rule; this is what
    // createCatalogConditionalDecision(permission, catalogConditions.isEntityOwner({ claims })) builds, written
    // out so the plugin does not depend on the whole catalog backend (a test checks the two agree).
    return {
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'catalog',
      resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
      conditions: { rule: 'IS_ENTITY_OWNER', resourceType: RESOURCE_TYPE_CATALOG_ENTITY, params: { claims } },
    };
  }
}
