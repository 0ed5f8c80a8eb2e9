import { randomUUID } from 'node:crypto';
import {
  AuthService,
  DiscoveryService,
  LoggerService,
  SchedulerServiceTaskRunner,
} from '@backstage/backend-plugin-api';
import { EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';
import type { InstanceRecord } from '../../instances/types';
import { buildInstanceEntity, INSTANCES_LOCATION } from './buildInstanceEntity';

/** Reads the recorded instances; the REST API of the fediversity plugin by default. */
export type InstanceSource = () => Promise<InstanceRecord[]>;

/**
 * Emits the instance store's records as catalog entities (full mutation per refresh). The catalog runs in another
 * plugin than the store, so records come over the fediversity plugin's REST API with the catalog's service token.
 */
export class InstanceEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;

  constructor(
    private readonly options: {
      source: InstanceSource;
      logger: LoggerService;
      taskRunner: SchedulerServiceTaskRunner;
    },
  ) {}

  /** The REST source: GET /api/fediversity/instances with a service token. */
  static restSource(services: { discovery: DiscoveryService; auth: AuthService }): InstanceSource {
    return async () => {
      const { token } = await services.auth.getPluginRequestToken({
        onBehalfOf: await services.auth.getOwnServiceCredentials(),
        targetPluginId: 'fediversity',
      });
      const baseUrl = await services.discovery.getBaseUrl('fediversity');
      const response = await fetch(`${baseUrl}/instances`, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) {
        throw new Error(`GET ${baseUrl}/instances answered HTTP ${response.status}`);
      }
      return ((await response.json()) as { items: InstanceRecord[] }).items;
    };
  }

  getProviderName(): string {
    return INSTANCES_LOCATION;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    const id = `${this.getProviderName()}:refresh`;
    await this.options.taskRunner.run({
      id,
      fn: async () => {
        const logger = this.options.logger.child({ taskId: id, taskInstanceId: randomUUID() });
        try {
          await this.refresh();
        } catch (error) {
          logger.error(`Refreshing fediversity instances failed: ${error}`);
        }
      },
    });
  }

  async refresh(): Promise<{ entities: number }> {
    if (!this.connection) throw new Error('InstanceEntityProvider is not connected');
    const instances = await this.options.source();
    await this.connection.applyMutation({
      type: 'full',
      entities: instances.map(instance => ({
        entity: buildInstanceEntity(instance),
        locationKey: INSTANCES_LOCATION,
      })),
    });
    return { entities: instances.length };
  }
}
