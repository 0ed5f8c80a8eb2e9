import type { LoggerService } from '@backstage/backend-plugin-api';
import {
  Entity,
  parseEntityRef,
  RELATION_DEPENDENCY_OF,
  RELATION_DEPENDS_ON,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  CatalogProcessor,
  CatalogProcessorCache,
  CatalogProcessorEmit,
  LocationSpec,
  processingResult,
} from '@backstage/plugin-catalog-node';
import {
  ANNOTATION_APP,
  APP_DEFINITION_TYPE,
  AppDefinitionSpec,
  appDefinitionSpecSchema,
  LayerSystemSpec,
  swotKeywordsSchema,
  swotKeywordTags,
  validateFediversityEntity,
} from '@fediversity/plugin-fediversity-common';

/** Finds an entity in the catalog by ref; undefined when it is not (yet) there. */
export type EntityLookup = (entityRef: string) => Promise<Entity | undefined>;

/** What the processor remembers per instance, so a failed lookup keeps the last known relations. */
type InstanceCache = { appRef: string; coreServiceRefs: string[] };

/**
 * Validates every entity carrying Fediversity fields against the zod schemas of fediversity-common, and emits
 * the relations those fields imply:
 * - app definitions (Component `fediversity-app`) → dependsOn their `spec.coreServices`;
 * - running instances (Component `service` with `fediversity.eu/app`) → dependsOn the app definition and its
 *   core services;
 * - layer Systems → dependsOn the Systems in `spec.dependsOn` (the arrows of the architecture notes).
 *
 * Each invalid field becomes one processing error "<entity>: <field path>: <reason>"; the catalog then keeps the
 * entity out (or keeps its last valid version, with the errors in `status.items`).
 *
 * SWOT filtering: app definitions get the catalog tags `weakness-<keyword>` and `threat-<keyword>` from
 * `spec.swotKeywords` (added in preProcessEntity), so the catalog's built-in tag filter (and
 * `filter=metadata.tags=threat-domain-fixed` on the API) lists apps by weakness/threat, next to the built-in
 * owner filter.
 */
export class FediversityEntityProcessor implements CatalogProcessor {
  constructor(
    private readonly options: {
      /** Looks up app definitions for instances; a catalog read with the catalog's own service credentials. */
      findEntity: EntityLookup;
      logger: LoggerService;
    },
  ) {}

  getProcessorName(): string {
    return 'FediversityEntityProcessor';
  }

  async preProcessEntity(entity: Entity): Promise<Entity> {
    if (entity.kind.toLocaleLowerCase('en-US') !== 'component' || entity.spec?.type !== APP_DEFINITION_TYPE) {
      return entity;
    }
    // Invalid keywords are reported in postProcessEntity; here we only skip deriving tags from them.
    const keywords = swotKeywordsSchema.safeParse(entity.spec?.swotKeywords);
    if (!keywords.success) {
      return entity;
    }
    const tags = new Set([...(entity.metadata.tags ?? []), ...swotKeywordTags(keywords.data)]);
    return { ...entity, metadata: { ...entity.metadata, tags: [...tags] } };
  }

  async postProcessEntity(
    entity: Entity,
    location: LocationSpec,
    emit: CatalogProcessorEmit,
    cache: CatalogProcessorCache,
  ): Promise<Entity> {
    const { role, issues } = validateFediversityEntity(entity);
    if (!role) {
      return entity;
    }
    const selfRef = stringifyEntityRef(entity);
    if (issues.length > 0) {
      for (const issue of issues) {
        emit(processingResult.inputError(location, `${selfRef}: ${issue.path}: ${issue.message}`));
      }
      return entity;
    }

    switch (role) {
      case 'app-definition': {
        const spec = appDefinitionSpecSchema.parse(entity.spec);
        for (const coreService of spec.coreServices) {
          this.emitDependsOn(emit, selfRef, toComponentRef(coreService));
        }
        break;
      }
      case 'instance':
        await this.processInstance(entity, selfRef, location, emit, cache);
        break;
      case 'layer-system': {
        const spec = entity.spec as unknown as LayerSystemSpec;
        for (const system of spec.dependsOn) {
          this.emitDependsOn(
            emit,
            selfRef,
            stringifyEntityRef(parseEntityRef(system, { defaultKind: 'System', defaultNamespace: 'default' })),
          );
        }
        break;
      }
      default:
        // Storage resources: the built-in processor emits their spec.dependsOn; we only validate.
        break;
    }
    return entity;
  }

  private async processInstance(
    entity: Entity,
    selfRef: string,
    location: LocationSpec,
    emit: CatalogProcessorEmit,
    cache: CatalogProcessorCache,
  ): Promise<void> {
    const appRef = toComponentRef(entity.metadata.annotations![ANNOTATION_APP]);
    this.emitDependsOn(emit, selfRef, appRef);

    let appDefinition: Entity | undefined;
    try {
      appDefinition = await this.options.findEntity(appRef);
    } catch (error) {
      // The catalog may be unreachable for a moment; keep the relations we knew instead of dropping them.
      const known = await cache.get<InstanceCache>('instance');
      this.options.logger.warn(`Could not look up ${appRef} for ${selfRef}: ${error}`);
      if (known?.appRef === appRef) {
        for (const coreService of known.coreServiceRefs) {
          this.emitDependsOn(emit, selfRef, coreService);
        }
        await cache.set<InstanceCache>('instance', known);
      }
      return;
    }

    if (!appDefinition) {
      // Not an error: at startup instances from the provider can be processed before the app definitions from
      // catalog/ exist. The dependsOn relation above shows the reference; core services follow on the next pass.
      this.options.logger.info(`${selfRef} runs ${appRef}, which is not in the catalog yet`);
      return;
    }
    if (appDefinition.spec?.type !== APP_DEFINITION_TYPE) {
      emit(
        processingResult.inputError(
          location,
          `${selfRef}: metadata.annotations["${ANNOTATION_APP}"]: ${appRef} is not an app definition (spec.type ${APP_DEFINITION_TYPE})`,
        ),
      );
      return;
    }
    const parsed = appDefinitionSpecSchema.safeParse(appDefinition.spec);
    const coreServiceRefs = parsed.success ? coreServicesOf(parsed.data) : [];
    for (const coreService of coreServiceRefs) {
      this.emitDependsOn(emit, selfRef, coreService);
    }
    await cache.set<InstanceCache>('instance', { appRef, coreServiceRefs });
  }

  private emitDependsOn(emit: CatalogProcessorEmit, source: string, target: string) {
    const sourceRef = parseEntityRef(source);
    const targetRef = parseEntityRef(target);
    emit(processingResult.relation({ source: sourceRef, type: RELATION_DEPENDS_ON, target: targetRef }));
    emit(processingResult.relation({ source: targetRef, type: RELATION_DEPENDENCY_OF, target: sourceRef }));
  }
}

function toComponentRef(ref: string): string {
  return stringifyEntityRef(parseEntityRef(ref, { defaultKind: 'Component', defaultNamespace: 'default' }));
}

function coreServicesOf(spec: AppDefinitionSpec): string[] {
  return spec.coreServices.map(toComponentRef);
}
