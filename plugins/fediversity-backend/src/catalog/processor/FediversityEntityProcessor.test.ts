import { mockServices } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import type { CatalogProcessorCache, CatalogProcessorResult } from '@backstage/plugin-catalog-node';
import { FediversityEntityProcessor } from './FediversityEntityProcessor';

const location = { type: 'file', target: '/catalog/test.yaml' };

function appDefinition(name: string, coreServices: string[] = []): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, tags: ['activitypub'] },
    spec: {
      type: 'fediversity-app',
      lifecycle: 'production',
      owner: 'group:default/social-team',
      system: 'fedi-services',
      license: 'AGPL-3.0-only',
      openCore: false,
      nixosModule: `services.${name}`,
      coreServices,
      swot: { strengths: ['s'], weaknesses: ['w'], opportunities: ['o'], threats: ['t'] },
      swotKeywords: { weaknesses: ['beta'], threats: ['domain-fixed'] },
      dataClasses: [
        {
          name: 'state',
          kind: 'directories',
          directories: [`/var/lib/${name}`],
          replication: 'rsync-quiesced',
          quiesce: [['systemctl', 'stop', `${name}.service`]],
          unquiesce: [['systemctl', 'start', `${name}.service`]],
        },
      ],
    },
  };
}

function instanceOf(app: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'social-example-org', annotations: { 'fediversity.eu/app': app } },
    spec: { type: 'service', lifecycle: 'production', owner: 'group:default/social-team' },
  };
}

class MapCache implements CatalogProcessorCache {
  constructor(readonly values = new Map<string, any>()) {}
  async get(key: string) {
    return this.values.get(key);
  }
  async set(key: string, value: any) {
    this.values.set(key, value);
  }
}

async function postProcess(processor: FediversityEntityProcessor, entity: Entity, cache = new MapCache()) {
  const results: CatalogProcessorResult[] = [];
  await processor.postProcessEntity(entity, location, result => results.push(result), cache);
  const dependsOn = results.flatMap(result =>
    result.type === 'relation' && result.relation.type === 'dependsOn'
      ? [`${result.relation.source.name} -> ${result.relation.target.kind}:${result.relation.target.name}`]
      : [],
  );
  const errors = results.flatMap(result => (result.type === 'error' ? [result.error.message] : []));
  return { dependsOn, errors, relationCount: results.filter(result => result.type === 'relation').length };
}

describe('FediversityEntityProcessor', () => {
  const catalog = new Map<string, Entity>([
    ['component:default/gotosocial', appDefinition('gotosocial', ['dns', 'component:default/authelia'])],
    ['component:default/website', { ...instanceOf('x'), spec: { type: 'website' } }],
  ]);
  const processor = new FediversityEntityProcessor({
    logger: mockServices.logger.mock(),
    findEntity: async ref => catalog.get(ref),
  });

  it('adds SWOT keyword tags to app definitions, keeping existing tags', async () => {
    const processed = await processor.preProcessEntity(appDefinition('gotosocial'));
    expect(processed.metadata.tags).toEqual(['activitypub', 'threat-domain-fixed', 'weakness-beta']);
    const broken = appDefinition('gotosocial');
    (broken.spec as any).swotKeywords = { threats: ['Not Kebab'] };
    expect((await processor.preProcessEntity(broken)).metadata.tags).toEqual(['activitypub']);
  });

  it('emits dependsOn (and the reverse dependencyOf) from an app definition to its core services', async () => {
    const result = await postProcess(processor, appDefinition('gotosocial', ['dns']));
    expect(result).toEqual({ dependsOn: ['gotosocial -> component:dns'], errors: [], relationCount: 2 });
  });

  it('links an instance to its app definition and the core services that declares', async () => {
    const cache = new MapCache();
    const result = await postProcess(processor, instanceOf('component:default/gotosocial'), cache);
    expect(result.dependsOn).toEqual([
      'social-example-org -> component:gotosocial',
      'social-example-org -> component:dns',
      'social-example-org -> component:authelia',
    ]);
    expect(result.errors).toEqual([]);
    expect(cache.values.get('instance')).toEqual({
      appRef: 'component:default/gotosocial',
      coreServiceRefs: ['component:default/dns', 'component:default/authelia'],
    });
  });

  it('keeps the last known core services when the catalog lookup fails', async () => {
    const cache = new MapCache(
      new Map([['instance', { appRef: 'component:default/gotosocial', coreServiceRefs: ['component:default/dns'] }]]),
    );
    const failing = new FediversityEntityProcessor({
      logger: mockServices.logger.mock(),
      findEntity: async () => {
        throw new Error('catalog unavailable');
      },
    });
    const result = await postProcess(failing, instanceOf('component:default/gotosocial'), cache);
    expect(result.dependsOn).toEqual([
      'social-example-org -> component:gotosocial',
      'social-example-org -> component:dns',
    ]);
  });

  it('tolerates an app definition that is not in the catalog yet, but rejects one that is not an app', async () => {
    const missing = await postProcess(processor, instanceOf('component:default/pixelfed'));
    expect(missing).toEqual({ dependsOn: ['social-example-org -> component:pixelfed'], errors: [], relationCount: 2 });

    const notAnApp = await postProcess(processor, instanceOf('component:default/website'));
    expect(notAnApp.errors).toEqual([
      'component:default/social-example-org: metadata.annotations["fediversity.eu/app"]: component:default/website is not an app definition (spec.type fediversity-app)',
    ]);
  });

  it('reports every invalid field as its own error and emits no relations then', async () => {
    const entity = appDefinition('gotosocial', ['dns']);
    (entity.spec as any).openCore = true;
    (entity.spec as any).swot.weaknesses = [];
    const result = await postProcess(processor, entity);
    expect(result.relationCount).toBe(0);
    expect(result.errors).toEqual([
      expect.stringMatching(/^component:default\/gotosocial: spec\.openCore: rejected by the no-open-core policy/),
      'component:default/gotosocial: spec.swot.weaknesses: the weaknesses list is required and must name at least one point',
    ]);
  });

  it('ignores entities without our fields', async () => {
    const website: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'website' },
      spec: { type: 'website', owner: 'x', lifecycle: 'production' },
    };
    expect(await processor.preProcessEntity(website)).toBe(website);
    expect(await postProcess(processor, website)).toEqual({ dependsOn: [], errors: [], relationCount: 0 });
  });
});
