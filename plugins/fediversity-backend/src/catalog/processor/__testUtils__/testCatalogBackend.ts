import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import request from 'supertest';
import { catalogModuleFediversityProcessor } from '../module';
import { closingDatabaseServiceFactory } from '../../../testUtils';

/**
 * Starts the real catalog backend (@backstage/plugin-catalog-backend 4.0.0) with our processor module on one file
 * location, and records the processing errors the engine reports per entity ref. A test helper, not shipped.
 */
export async function startCatalogWithProcessor(locationFile: string) {
  const processingErrors = new Map<string, string[]>();
  const recordErrors = createBackendModule({
    pluginId: 'catalog',
    moduleId: 'test-processing-errors',
    register(reg) {
      reg.registerInit({
        deps: { processing: catalogProcessingExtensionPoint },
        async init({ processing }) {
          processing.setOnProcessingErrorHandler(({ unprocessedEntity, errors }) => {
            processingErrors.set(
              stringifyEntityRef(unprocessedEntity),
              errors.map(error => error.message),
            );
          });
        },
      });
    },
  });

  const backend = await startTestBackend({
    features: [
      catalogPlugin,
      catalogModuleFediversityProcessor,
      recordErrors,
      closingDatabaseServiceFactory,
      mockServices.rootConfig.factory({
        data: {
          catalog: {
            // Short, so instances get their core-service relations on the second pass within the test.
            processingInterval: { seconds: 1 },
            rules: [{ allow: ['Component', 'System', 'Domain', 'Resource', 'Location', 'Group', 'User'] }],
            locations: [{ type: 'file', target: locationFile }],
          },
        },
      }),
    ],
  });

  const queryEntities = async (filter: string): Promise<Entity[]> => {
    const response = await request(backend.server)
      .get('/api/catalog/entities/by-query')
      .query({ filter, limit: 500 })
      .expect(200);
    return response.body.items;
  };

  const getEntity = async (ref: string): Promise<Entity | undefined> => {
    const [kind, rest] = ref.split(':');
    const [namespace, name] = rest.split('/');
    const response = await request(backend.server).get(
      `/api/catalog/entities/by-name/${kind}/${namespace}/${name}`,
    );
    return response.status === 200 ? response.body : undefined;
  };

  return { backend, processingErrors, queryEntities, getEntity };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  description: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}

/** The targets of an entity's relations of one type, sorted. */
export function relationTargets(entity: Entity | undefined, type: string): string[] {
  return (entity?.relations ?? [])
    .filter(relation => relation.type === type)
    .map(relation => relation.targetRef)
    .sort();
}
