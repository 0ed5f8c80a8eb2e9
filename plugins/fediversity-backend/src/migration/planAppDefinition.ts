import { AuthService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { dataClassesSchema } from '@fediversity/plugin-fediversity-common';
import { z } from 'zod';
import { AppDataDefinition } from './planMigration';

const identityFilesSchema = z
  .array(z.string().regex(/^\/[A-Za-z0-9_.\/+-]*$/, 'an absolute path of plain characters'))
  .default([]);

/**
 * Reads an app definition's data classes (`spec.dataClasses`) and domain identity files (`spec.identityFiles`,
 * optional) from the catalog, as the portal itself (the caller was already authorised on the instance).
 */
export function catalogAppDefinitions(catalog: Pick<CatalogService, 'getEntityByRef'>, auth: AuthService) {
  return async (appRef: string): Promise<AppDataDefinition> => {
    const entity = await catalog.getEntityByRef(appRef, { credentials: await auth.getOwnServiceCredentials() });
    if (!entity) throw new NotFoundError(`The app definition ${appRef} is not in the catalog`);
    const spec = (entity.spec ?? {}) as Record<string, unknown>;
    const dataClasses = dataClassesSchema.safeParse(spec.dataClasses);
    if (!dataClasses.success) {
      throw new Error(`${appRef} has invalid spec.dataClasses: ${dataClasses.error.issues[0]?.message}`);
    }
    const identityFiles = identityFilesSchema.safeParse(spec.identityFiles);
    if (!identityFiles.success) {
      throw new Error(`${appRef} has invalid spec.identityFiles: ${identityFiles.error.issues[0]?.message}`);
    }
    return { name: entity.metadata.name, dataClasses: dataClasses.data, identityPaths: identityFiles.data };
  };
}
