import { randomUUID } from 'node:crypto';
import {
  LoggerService,
  SchedulerServiceTaskRunner,
} from '@backstage/backend-plugin-api';
import {
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import { PveCluster } from '@fediversity/plugin-fediversity-node';
import { buildEntities } from './lib/buildEntities';
import { readClusterInventory } from './lib/readInventory';

/**
 * Emits one Proxmox VE cluster's nodes, storages and guests as catalog entities, replacing the whole set on each
 * scheduled refresh (full mutation). A failed refresh is logged and leaves the previous entities in place.
 */
export class ProxmoxEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;

  static create(options: {
    cluster: PveCluster;
    logger: LoggerService;
    taskRunner: SchedulerServiceTaskRunner;
  }): ProxmoxEntityProvider {
    return new ProxmoxEntityProvider(options.cluster, options.logger, options.taskRunner);
  }

  private constructor(
    private readonly cluster: PveCluster,
    private readonly logger: LoggerService,
    private readonly taskRunner: SchedulerServiceTaskRunner,
  ) {}

  getProviderName(): string {
    return `fediversity-proxmox:${this.cluster.name}`;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    const id = `${this.getProviderName()}:refresh`;
    await this.taskRunner.run({
      id,
      fn: async () => {
        const logger = this.logger.child({
          class: ProxmoxEntityProvider.name,
          taskId: id,
          taskInstanceId: randomUUID(),
        });
        try {
          await this.refresh(logger);
        } catch (error) {
          logger.error(`Refreshing Proxmox cluster ${this.cluster.name} failed`, toError(error));
        }
      },
    });
  }

  /** Reads the cluster and applies a full mutation. Throws on failure; the scheduled task logs it. */
  async refresh(logger: LoggerService = this.logger): Promise<{ entities: number }> {
    if (!this.connection) {
      throw new Error(`${this.getProviderName()} is not connected`);
    }
    const started = Date.now();
    const inventory = await readClusterInventory(this.cluster.client, { logger });
    const location = this.getProviderName();
    const entities = buildEntities(inventory, {
      cluster: this.cluster.name,
      demo: this.cluster.demo,
      location,
    });
    await this.connection.applyMutation({
      type: 'full',
      entities: entities.map(entity => ({ entity, locationKey: location })),
    });
    logger.info(
      `Read ${entities.length} entities from Proxmox cluster ${this.cluster.name} in ${Date.now() - started} ms`,
    );
    return { entities: entities.length };
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
