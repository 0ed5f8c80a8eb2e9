import type { Entity } from '@backstage/catalog-model';
import { z } from 'zod';
import { ANNOTATION_APP } from '../annotations';
import { APP_DEFINITION_TYPE, appDefinitionSpecSchema } from './appDefinition';
import { layerSystemSpecSchema } from './architecture';
import { instanceAnnotationsSchema } from './instance';
import { STORAGE_RESOURCE_TYPES, StorageResourceType, storageResourceSpecSchemas } from './storage';

/** Which of our schemas an entity falls under; entities without our fields have none. */
export type FediversityEntityRole = 'app-definition' | 'instance' | 'storage' | 'layer-system';

/** One problem with one field: `path` is the field path in the entity (`spec.swot.threats`). */
export interface FieldIssue {
  path: string;
  message: string;
}

export interface FediversityEntityValidation {
  role: FediversityEntityRole | undefined;
  issues: FieldIssue[];
}

function specOf(entity: Entity): Record<string, unknown> {
  return (entity.spec ?? {}) as Record<string, unknown>;
}

/** Decides which of our schemas apply, from the fields the entity carries. */
export function fediversityEntityRole(entity: Entity): FediversityEntityRole | undefined {
  const spec = specOf(entity);
  const kind = entity.kind.toLocaleLowerCase('en-US');
  if (kind === 'component' && spec.type === APP_DEFINITION_TYPE) {
    return 'app-definition';
  }
  if (kind === 'component' && entity.metadata.annotations?.[ANNOTATION_APP] !== undefined) {
    return 'instance';
  }
  if (kind === 'resource' && STORAGE_RESOURCE_TYPES.includes(spec.type as StorageResourceType)) {
    return 'storage';
  }
  if (kind === 'system' && spec.dependsOn !== undefined) {
    return 'layer-system';
  }
  return undefined;
}

/** `['spec', 'dataClasses', 0, 'quiesce']` → `spec.dataClasses[0].quiesce`; odd keys are quoted. */
export function formatFieldPath(path: ReadonlyArray<string | number>): string {
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') {
        return `[${segment}]`;
      }
      if (/^[A-Za-z_$][\w$]*$/.test(segment)) {
        return index === 0 ? segment : `.${segment}`;
      }
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

function issuesOf(
  schema: z.ZodTypeAny,
  value: unknown,
  prefix: ReadonlyArray<string>,
): FieldIssue[] {
  const result = schema.safeParse(value);
  if (result.success) {
    return [];
  }
  return result.error.issues.map(issue => ({
    path: formatFieldPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

/**
 * Validates every field we add to an entity against the schemas. The catalog processor turns each issue into a
 * processing error; the catalog test runs it over catalog/.
 */
export function validateFediversityEntity(entity: Entity): FediversityEntityValidation {
  const role = fediversityEntityRole(entity);
  switch (role) {
    case 'app-definition':
      return { role, issues: issuesOf(appDefinitionSpecSchema, entity.spec, ['spec']) };
    case 'instance': {
      const issues = issuesOf(instanceAnnotationsSchema, entity.metadata.annotations, [
        'metadata',
        'annotations',
      ]);
      if (specOf(entity).type !== 'service') {
        issues.push({
          path: 'spec.type',
          message: `must be "service": the ${ANNOTATION_APP} annotation marks running instances`,
        });
      }
      return { role, issues };
    }
    case 'storage': {
      const type = specOf(entity).type as StorageResourceType;
      return { role, issues: issuesOf(storageResourceSpecSchemas[type], entity.spec, ['spec']) };
    }
    case 'layer-system':
      return { role, issues: issuesOf(layerSystemSpecSchema, entity.spec, ['spec']) };
    default:
      return { role: undefined, issues: [] };
  }
}
