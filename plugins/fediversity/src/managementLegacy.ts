import { createComponentExtension, createRoutableExtension } from '@backstage/core-plugin-api';
import { jobsRouteRef } from './managementRoutes';
import { fediversityPlugin } from './plugin';

/** Legacy-frontend-system exports of the management UI (the new system gets them from `./alpha`). */

const card = (name: string, load: () => Promise<(props: {}) => JSX.Element>) =>
  fediversityPlugin.provide(createComponentExtension({ name, component: { lazy: load } }));

export const EntityInstanceOverviewCard = card('EntityInstanceOverviewCard', () =>
  import('./components/InstanceOverviewCard').then(m => m.InstanceOverviewCard),
);
export const EntityReplicationCard = card('EntityReplicationCard', () =>
  import('./components/ReplicationCard').then(m => m.ReplicationCard),
);
export const EntityMigrationCard = card('EntityMigrationCard', () =>
  import('./components/MigrationCard').then(m => m.MigrationCard),
);
export const EntityBackupsCard = card('EntityBackupsCard', () =>
  import('./components/BackupsCard').then(m => m.BackupsCard),
);
export const EntityNodeGuestsCard = card('EntityNodeGuestsCard', () =>
  import('./components/HostCards').then(m => m.NodeGuestsCard),
);
export const EntityStorageUsageCard = card('EntityStorageUsageCard', () =>
  import('./components/HostCards').then(m => m.StorageUsageCard),
);

export const FediversityJobsPage = fediversityPlugin.provide(
  createRoutableExtension({
    name: 'FediversityJobsPage',
    component: () => import('./components/JobsPage').then(m => m.JobsPage),
    mountPoint: jobsRouteRef,
  }),
);
