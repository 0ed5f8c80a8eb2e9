import { createBackend } from '@backstage/backend-defaults';
import {
  catalogModuleFediversityInstances,
  catalogModuleFediversityProcessor,
  catalogModuleFediversityProxmox,
  fediversityModuleGuests,
  fediversityModuleInstances,
  fediversityModuleMigration,
  fediversityModuleReplication,
  permissionModuleFediversityPolicy,
  pveClustersServiceFactory,
} from '@fediversity/plugin-fediversity-backend';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

backend.add(import('@backstage/plugin-scaffolder-backend'));

backend.add(import('@backstage/plugin-permission-backend'));
// Owners only for our job permissions; everything else allowed as the default portal does.
backend.add(permissionModuleFediversityPolicy);

backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));

backend.add(import('@backstage/plugin-signals-backend'));

// Fediversity
backend.add(import('@fediversity/plugin-fediversity-backend'));
backend.add(import('@fediversity/plugin-scaffolder-backend-module-fediversity'));
// Proxmox clusters (the embedded simulator without configuration), shared by all plugins, and their catalog provider.
backend.add(pveClustersServiceFactory);
backend.add(catalogModuleFediversityProxmox);
// Validates our catalog fields (processing errors name field and reason), SWOT tags, dependsOn relations.
backend.add(catalogModuleFediversityProcessor);
// The instance store (POST/GET /api/fediversity/instances, the instance.backup job kind) and its catalog provider.
backend.add(fediversityModuleInstances);
backend.add(catalogModuleFediversityInstances);
// The instance.migrate job kind (host-to-host migration with approval, rollback before the cut-over).
backend.add(fediversityModuleMigration);
// Replication schedules + recovery points, backups listing, restores and restore drills (/api/fediversity/replication, /backups, /restores, /drills).
backend.add(fediversityModuleReplication);
// Live guest status and node storage usage from Proxmox for the entity pages (/api/fediversity/guests, /nodes).
backend.add(fediversityModuleGuests);

backend.start();
