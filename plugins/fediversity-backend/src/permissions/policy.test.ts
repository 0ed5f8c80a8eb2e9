import { mockCredentials } from '@backstage/backend-test-utils';
import { catalogEntityReadPermission } from '@backstage/plugin-catalog-common/alpha';
import {
  catalogConditions,
  createCatalogConditionalDecision,
  permissionRules,
} from '@backstage/plugin-catalog-backend/alpha';
import { AuthorizeResult, createPermission } from '@backstage/plugin-permission-common';
import { fediversityPermissions, jobApprovePermission } from '@fediversity/plugin-fediversity-common';
import { FediversityOwnerPolicy } from './policy';

const policy = new FediversityOwnerPolicy();
const user = (ownershipEntityRefs: string[]) => ({
  credentials: mockCredentials.user('user:default/alice'),
  info: { userEntityRef: 'user:default/alice', ownershipEntityRefs },
});

describe('FediversityOwnerPolicy', () => {
  it('allows what is not ours, as the allow-all policy does', async () => {
    expect(await policy.handle({ permission: catalogEntityReadPermission }, user([]))).toEqual({
      result: AuthorizeResult.ALLOW,
    });
    const other = createPermission({ name: 'scaffolder.task.read', attributes: { action: 'read' } });
    expect((await policy.handle({ permission: other })).result).toBe(AuthorizeResult.ALLOW);
  });

  it.each(fediversityPermissions.map(permission => [permission.name, permission]))(
    'allows %s to owners only: the catalog decides with IS_ENTITY_OWNER',
    async (_name, permission) => {
      const claims = ['user:default/alice', 'group:default/platform'];
      expect(await policy.handle({ permission }, user(claims))).toEqual(
        createCatalogConditionalDecision(permission, catalogConditions.isEntityOwner({ claims })),
      );
      expect((await policy.handle({ permission }, user([]))).result).toBe(AuthorizeResult.DENY);
      expect((await policy.handle({ permission })).result).toBe(AuthorizeResult.DENY);
    },
  );

  it('owner condition matches exactly the entities a claim owns', async () => {
    const decision: any = await policy.handle({ permission: jobApprovePermission }, user(['group:default/platform']));
    const entity = (owner: string) => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'mastodon' },
      spec: { owner },
      relations: [{ type: 'ownedBy', targetRef: owner }],
    });
    const apply = (owner: string) =>
      permissionRules.isEntityOwner.apply(entity(owner) as any, decision.conditions.params);
    expect(apply('group:default/platform')).toBe(true);
    expect(apply('group:default/other')).toBe(false);
  });
});
