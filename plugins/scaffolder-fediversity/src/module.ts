import { createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createActions } from './actions';

/** Registers the fediversity:* scaffolder actions. */
export const scaffolderModuleFediversity = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'fediversity',
  register(reg) {
    reg.registerInit({
      deps: { actions: scaffolderActionsExtensionPoint },
      async init({ actions }) {
        actions.addActions(...createActions());
      },
    });
  },
});
