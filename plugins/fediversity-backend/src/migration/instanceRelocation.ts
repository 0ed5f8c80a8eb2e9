import { parseEntityRef } from '@backstage/catalog-model';
import { LoggerService } from '@backstage/backend-plugin-api';
import type { EventsService } from '@backstage/plugin-events-node';
import { parsePublicKeyLine, PveClustersService, sha256Fingerprint } from '@fediversity/plugin-fediversity-node';
import type { InstanceStore } from '../instances/InstanceStore';
import type { ScheduleStore } from '../replication/ScheduleStore';
import { INSTANCES_TOPIC } from '../instances/types';
import { MigrationParams } from './params';
import { followInstance } from './replicationFollows';

/** Points an instance's record at the migration's target once it serves (after the cut-over). Idempotent. */
export interface InstanceRelocator {
  moveToTarget(entityRef: string, params: MigrationParams, guest?: ProvisionedGuest): Promise<void>;
}

/** The guest the provision step made, and whether it pinned the guest's host key on first contact. */
export interface ProvisionedGuest {
  vmid: number;
  node: string;
  pinnedOnFirstUse?: boolean;
}

/**
 * The instance store's record follows the migration (cluster, node, VMID, storage, SSH endpoint), and the catalog
 * provider is told at once so the entity shows the new node. Replication schedules reading from the old guest
 * follow too (see {@link followInstance}). An entity that is not a recorded instance (a migration started
 * through the job API for a host the portal does not track) is left alone.
 */
export function instanceStoreRelocator(options: {
  instances: Pick<InstanceStore, 'findByName' | 'relocate'>;
  schedules?: Pick<ScheduleStore, 'list' | 'update'>;
  clusters: PveClustersService;
  events?: Pick<EventsService, 'publish'>;
  logger: LoggerService;
  now?: () => number;
}): InstanceRelocator {
  const now = options.now ?? Date.now;
  return {
    async moveToTarget(entityRef, params, guest) {
      // Before the record: matched against the migration's own source, so a replay after a crash still finds them.
      if (options.schedules) {
        const { repointed, paused } = await followInstance(options.schedules, entityRef, params.source, params.target, now());
        if (repointed.length || paused.length) {
          options.logger.info(
            `Replication of ${entityRef} follows the move: ${repointed.join(', ') || 'none'} re-pointed, ${paused.join(', ') || 'none'} paused`,
          );
        }
      }
      const { name } = parseEntityRef(entityRef);
      const instance = await options.instances.findByName(name);
      const provision = params.provision;
      const vmid = guest?.vmid ?? provision?.vmid;
      if (!instance || !provision || vmid === undefined) return;
      const storages = await options.clusters
        .get(provision.cluster)
        .client.listStorages(guest?.node ?? provision.node);
      const storageShared = Boolean(storages.find(storage => storage.storage === provision.storage)?.shared);
      const { target } = params;
      await options.instances.relocate(instance.id, {
        cluster: provision.cluster,
        node: guest?.node ?? provision.node,
        vmid,
        storage: provision.storage,
        storageShared,
        ssh: {
          host: target.host,
          port: target.port,
          username: target.username,
          hostKey: target.hostPublicKey,
          hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(target.hostPublicKey).blob),
          trust: guest?.pinnedOnFirstUse ? 'tofu' : (instance.ssh?.trust ?? 'configured'),
        },
      });
      // Best effort: the provider's schedule picks the change up anyway.
      await options.events
        ?.publish({ topic: INSTANCES_TOPIC, eventPayload: { id: instance.id, name: instance.name } })
        .catch(error => options.logger.warn(`Could not announce the move of ${instance.name}: ${error}`));
    },
  };
}
