import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { pveClustersServiceRef } from '@fediversity/plugin-fediversity-node';
import { fediversityJobKindsExtensionPoint } from '../jobs/extensionPoint';
import { readMigrationDns } from './dnsConfig';
import { sshHostConnector } from './hosts';
import { migrationJobKind } from './migrationJobKind';
import { proxmoxTargetProvisioner } from './provisionTarget';

const SECRET_NAME = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * The `instance.migrate` job kind. SSH private keys are referenced by name from the job params and read from
 * `fediversity.migration.secrets.<name>` (Backstage config, e.g. from an env substitution), never stored in
 * the job; DNS cut-overs use `fediversity.dns`; target guests are provisioned on the configured PVE clusters.
 */
export const fediversityModuleMigration = createBackendModule({
  pluginId: 'fediversity',
  moduleId: 'migration',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        lifecycle: coreServices.lifecycle,
        jobKinds: fediversityJobKindsExtensionPoint,
        clusters: pveClustersServiceRef,
      },
      async init({ config, lifecycle, jobKinds, clusters }) {
        const secrets = config.getOptionalConfig('fediversity.migration.secrets');
        const kind = migrationJobKind({
          connect: sshHostConnector(async name => {
            const value = SECRET_NAME.test(name) ? secrets?.getOptionalString(name) : undefined;
            if (!value) throw new NotFoundError(`Secret ${name} is not configured under fediversity.migration.secrets`);
            return value;
          }),
          dns: readMigrationDns(config),
          provisioner: proxmoxTargetProvisioner(clusters),
        });
        jobKinds.addJobKind(kind);
        lifecycle.addShutdownHook(() => kind.closeSessions());
      },
    });
  },
});
