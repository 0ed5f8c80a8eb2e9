import path from 'node:path';
import { eventually, relationTargets, startCatalogWithProcessor } from './__testUtils__/testCatalogBackend';

// Starts a real catalog backend and waits for processing passes on a shared 2-core machine.
jest.setTimeout(60_000);

const FIXTURES = path.resolve(__dirname, '__fixtures__/all.yaml');

describe('FediversityEntityProcessor in the real catalog backend', () => {
  let catalog: Awaited<ReturnType<typeof startCatalogWithProcessor>>;

  beforeAll(async () => {
    catalog = await startCatalogWithProcessor(FIXTURES);
  });


  const errorsOf = (ref: string) =>
    eventually(`processing errors of ${ref}`, async () => catalog.processingErrors.get(ref));

  it('rejects an app definition with a missing SWOT list, naming the field', async () => {
    expect(await errorsOf('component:default/missing-swot-list')).toEqual([
      'component:default/missing-swot-list: spec.swot.threats: the threats list is required and must name at least one point',
    ]);
  });

  it('rejects an open-core app definition, naming the policy', async () => {
    expect(await errorsOf('component:default/dovecot')).toEqual([
      expect.stringMatching(
        /^component:default\/dovecot: spec\.openCore: rejected by the no-open-core policy: .*Dovecot/,
      ),
    ]);
  });

  it('rejects a source-available licence, naming the policy', async () => {
    expect(await errorsOf('component:default/source-available-app')).toEqual([
      'component:default/source-available-app: spec.license: rejected by the open-source licence policy: "BUSL-1.1" is not on the allow-list of OSI/FSF open-source SPDX licence ids',
    ]);
  });

  it('rejects a field of the wrong type', async () => {
    expect(await errorsOf('component:default/wrong-field-type')).toEqual([
      'component:default/wrong-field-type: spec.openCore: Expected boolean, received string',
    ]);
  });

  it('rejects an instance whose app annotation is not a full component ref, and secrets in storage specs', async () => {
    expect(await errorsOf('component:default/instance-of-nothing')).toEqual([
      'component:default/instance-of-nothing: metadata.annotations["fediversity.eu/app"]: must be a full Component reference like component:default/mastodon',
    ]);
    expect(await errorsOf('resource:default/bucket-with-secret')).toEqual([
      'resource:default/bucket-with-secret: spec.secretAccessKey: looks like a secret; secrets never go into the catalog (reference a secret store instead)',
    ]);
  });

  it('keeps rejected entities out of the catalog and valid ones in', async () => {
    const instance = await eventually('the instance with its core-service relation', async () => {
      const entity = await catalog.getEntity('component:default/social-example-org');
      return relationTargets(entity, 'dependsOn').includes('component:default/dns') ? entity : undefined;
    });
    expect(relationTargets(instance, 'dependsOn')).toEqual([
      'component:default/dns',
      'component:default/gotosocial',
    ]);
    for (const rejected of ['missing-swot-list', 'dovecot', 'source-available-app', 'wrong-field-type']) {
      expect(await catalog.getEntity(`component:default/${rejected}`)).toBeUndefined();
    }
    expect(catalog.processingErrors.has('component:default/gotosocial')).toBe(false);
    expect(catalog.processingErrors.has('resource:default/apps-zfs')).toBe(false);
  });

  it('emits the relations of app definitions and layer systems', async () => {
    const app = await eventually('gotosocial with relations', async () => {
      const entity = await catalog.getEntity('component:default/gotosocial');
      return relationTargets(entity, 'dependencyOf').length > 0 ? entity : undefined;
    });
    expect(relationTargets(app, 'dependsOn')).toEqual(['component:default/dns']);
    expect(relationTargets(app, 'dependencyOf')).toEqual(['component:default/social-example-org']);

    const layer = await catalog.getEntity('system:default/fedi-services');
    expect(relationTargets(layer, 'dependsOn')).toEqual(['system:default/core-services']);
    const core = await catalog.getEntity('system:default/core-services');
    expect(relationTargets(core, 'dependencyOf')).toEqual(['system:default/fedi-services']);
  });

  it('lists apps by threat/weakness keyword tag and by owner', async () => {
    const byThreat = await catalog.queryEntities('kind=component,spec.type=fediversity-app,metadata.tags=threat-domain-fixed');
    expect(byThreat.map(entity => entity.metadata.name)).toEqual(['gotosocial']);
    expect(byThreat[0].metadata.tags).toEqual(['threat-domain-fixed', 'threat-key-loss', 'weakness-beta']);

    const byWeakness = await catalog.queryEntities('metadata.tags=weakness-security-advisories');
    expect(byWeakness.map(entity => entity.metadata.name)).toEqual(['dns']);

    const byOwner = await catalog.queryEntities('spec.type=fediversity-app,relations.ownedBy=group:default/test-team');
    expect(byOwner.map(entity => entity.metadata.name).sort()).toEqual(['dns', 'gotosocial']);
  });
});
