import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';
import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Permissions of the Fediversity portal. All are checked against the catalog entity a job acts on,
 * so a policy can decide by ownership (the default policy: owners only).
 * Approving a cut-over and decommissioning are separate from running, as they are the irreversible steps.
 */

/** See a job of an entity, its steps and its event log. */
export const jobReadPermission = createPermission({
  name: 'fediversity.job.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Start a job on an entity (the default permission of a job kind). */
export const jobCreatePermission = createPermission({
  name: 'fediversity.job.create',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Cancel a running or queued job of an entity. */
export const jobCancelPermission = createPermission({
  name: 'fediversity.job.cancel',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Pass a human approval gate (e.g. the cut-over of a migration). */
export const jobApprovePermission = createPermission({
  name: 'fediversity.job.approve',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Retry a failed job from the step that failed. */
export const jobRetryPermission = createPermission({
  name: 'fediversity.job.retry',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Start the decommission of an instance (deletes the source after a migration; irreversible). */
export const instanceDecommissionPermission = createPermission({
  name: 'fediversity.instance.decommission',
  attributes: { action: 'delete' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

export const fediversityPermissions = [
  jobReadPermission,
  jobCreatePermission,
  jobCancelPermission,
  jobApprovePermission,
  jobRetryPermission,
  instanceDecommissionPermission,
];
