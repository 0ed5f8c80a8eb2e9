import { Entity } from '@backstage/catalog-model';
import {
  ApiBlueprint,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint, EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { RiListCheck3 } from '@remixicon/react';
import { fediversityApiRef, FediversityUiClient } from './api';
import { jobsRouteRefNfs } from './managementRoutes';

/*
 * The management UI in the new frontend system: the API, instance cards and tabs, host and storage cards, the
 * Jobs page. alpha.tsx adds these to the plugin.
 */

export const isServiceInstance = (entity: Entity) => entity.kind === 'Component' && entity.spec?.type === 'service';
const isResourceOfType = (type: string) => (entity: Entity) => entity.kind === 'Resource' && entity.spec?.type === type;

export const fediversityApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: fediversityApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) => new FediversityUiClient({ discoveryApi, fetchApi }),
    }),
});

export const instanceOverviewEntityCard = EntityCardBlueprint.make({
  name: 'instance-overview',
  params: {
    filter: isServiceInstance,
    loader: () => import('./components/InstanceOverviewCard').then(m => <m.InstanceOverviewCard />),
  },
});

export const replicationEntityContent = EntityContentBlueprint.make({
  name: 'replication',
  params: {
    path: '/replication',
    title: 'Replication',
    filter: isServiceInstance,
    loader: () => import('./components/ReplicationCard').then(m => <m.ReplicationCard />),
  },
});

export const migrationEntityContent = EntityContentBlueprint.make({
  name: 'migration',
  params: {
    path: '/migration',
    title: 'Migration',
    filter: isServiceInstance,
    loader: () => import('./components/MigrationCard').then(m => <m.MigrationCard />),
  },
});

export const backupsEntityContent = EntityContentBlueprint.make({
  name: 'backups',
  params: {
    path: '/backups',
    title: 'Backups',
    filter: isServiceInstance,
    loader: () => import('./components/BackupsCard').then(m => <m.BackupsCard />),
  },
});

export const nodeGuestsEntityCard = EntityCardBlueprint.make({
  name: 'node-guests',
  params: {
    filter: isResourceOfType('proxmox-node'),
    loader: () => import('./components/HostCards').then(m => <m.NodeGuestsCard />),
  },
});

export const storageUsageEntityCard = EntityCardBlueprint.make({
  name: 'storage-usage',
  params: {
    filter: (entity: Entity) => isResourceOfType('proxmox-node')(entity) || isResourceOfType('storage-pool')(entity),
    loader: () => import('./components/HostCards').then(m => <m.StorageUsageCard />),
  },
});

export const jobsPage = PageBlueprint.make({
  name: 'jobs',
  params: {
    path: '/fediversity/jobs',
    title: 'Jobs',
    icon: <RiListCheck3 />,
    routeRef: jobsRouteRefNfs,
    loader: () => import('./components/JobsPage').then(m => <m.JobsPage />),
  },
});

export const managementExtensions = [
  fediversityApi,
  instanceOverviewEntityCard,
  replicationEntityContent,
  migrationEntityContent,
  backupsEntityContent,
  nodeGuestsEntityCard,
  storageUsageEntityCard,
  jobsPage,
];
