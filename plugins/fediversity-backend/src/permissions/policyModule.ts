import { createBackendModule } from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import { FediversityOwnerPolicy } from './policy';

/** Installs the portal's permission policy (owners only for Fediversity permissions) in the permission backend. */
export const permissionModuleFediversityPolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'fediversity-owner-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new FediversityOwnerPolicy());
      },
    });
  },
});
