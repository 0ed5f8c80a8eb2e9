import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { scaffolderAutocompleteExtensionPoint } from '@backstage/plugin-scaffolder-node/alpha';
import { pveClustersServiceRef, readDnsConfig } from '@fediversity/plugin-fediversity-node';
import { createActions } from './actions';
import { createAutocompleteHandler } from './autocomplete/autocomplete';
import { FediversityBackendClient } from './lib/backendClient';
import { findFlakeDir, flakeFilesLoader } from './lib/flakeDir';
import { guestAccessServiceRef } from './lib/guestAccess';
import { readReplicationTarget } from './lib/replicationTarget';

/** Registers the fediversity:* scaffolder actions and the live form options (nodes, storages, templates). */
export const scaffolderModuleFediversity = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'fediversity',
  register(reg) {
    reg.registerInit({
      deps: {
        actions: scaffolderActionsExtensionPoint,
        autocomplete: scaffolderAutocompleteExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
        clusters: pveClustersServiceRef,
        guestAccess: guestAccessServiceRef,
        catalog: catalogServiceRef,
      },
      async init({ actions, autocomplete, config, logger, discovery, auth, clusters, guestAccess, catalog }) {
        const dns = readDnsConfig(config);
        if (!dns) logger.info('fediversity.dns is not configured: provisioning will record "dns: skipped, no provider configured"');
        actions.addActions(
          ...createActions({
            clusters,
            guestAccess,
            dns,
            backend: new FediversityBackendClient({ discovery, auth }),
            catalog,
            replicationTarget: readReplicationTarget(config),
            flakeFiles: flakeFilesLoader(() => findFlakeDir(config)),
          }),
        );
        autocomplete.addAutocompleteProvider({ id: 'fediversity', handler: createAutocompleteHandler(clusters) });
      },
    });
  },
});
