import fs from 'node:fs';
import path from 'node:path';
import { Entity, parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { validateFediversityEntity } from '@fediversity/plugin-fediversity-common';
import { parseAllDocuments } from 'yaml';
import { eventually, startCatalogWithProcessor } from './__testUtils__/testCatalogBackend';

// Starts a real catalog backend and waits for processing passes on a shared 2-core machine.
jest.setTimeout(60_000);

/**
 * The repository's catalog/ must stay valid: a broken app definition or a dangling reference fails CI here,
 * not at runtime in the portal.
 */
const CATALOG_DIR = path.resolve(__dirname, '../../../../../catalog');

/** The Proxmox entity provider emits these; catalog/ may depend on them without defining them. */
const PROVIDER_ENTITY = /^resource:default\/demo(-pve-[a-c](-(local|local-zfs))?)?$/;

/** Every app and core service the architecture notes name, by the entity name we picked. */
const NOTES_APPS = {
  'core-services': ['bind9', 'maddy', 'lldap', 'authelia', 'openbao'],
  services: ['nextcloud', 'cryptpad', 'forgejo', 'roundcube', 'hedgedoc', 'vikunja'],
  'fedi-services': ['synapse', 'pixelfed', 'peertube', 'mastodon', 'gotosocial'],
};

function listYamlFiles(dir: string): string[] {
  return fs.readdirSync(dir).flatMap(name => {
    const full = path.join(dir, name);
    if (fs.statSync(full).isDirectory()) {
      return listYamlFiles(full);
    }
    return name.endsWith('.yaml') ? [full] : [];
  });
}

function readEntities(file: string): Entity[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map(document => {
    if (document.errors.length > 0) {
      throw new Error(`${file}: ${document.errors[0].message}`);
    }
    return document.toJS() as Entity;
  });
}

/** Expands the Location's targets; only the `dir/*.yaml` glob form is used in catalog/all.yaml. */
function locationTargets(location: Entity): string[] {
  const targets = (location.spec?.targets ?? []) as string[];
  return targets.flatMap(target => {
    const full = path.resolve(CATALOG_DIR, target);
    if (path.basename(full) === '*.yaml') {
      const dir = path.dirname(full);
      return fs.readdirSync(dir).filter(name => name.endsWith('.yaml')).map(name => path.join(dir, name));
    }
    return [full];
  });
}

describe('catalog/', () => {
  const files = listYamlFiles(CATALOG_DIR).sort();
  const entitiesByFile = new Map(files.map(file => [file, readEntities(file)]));
  const entities = [...entitiesByFile.values()].flat();
  const refs = new Set(entities.map(entity => stringifyEntityRef(entity)));
  const ref = (value: string, defaultKind: string) =>
    stringifyEntityRef(parseEntityRef(value, { defaultKind, defaultNamespace: 'default' }));

  it('reaches every file from the single location catalog/all.yaml', () => {
    const [location] = entitiesByFile.get(path.join(CATALOG_DIR, 'all.yaml'))!;
    expect(location.kind).toBe('Location');
    expect(locationTargets(location).sort()).toEqual(files.filter(file => !file.endsWith('/all.yaml')));
  });

  it.each(entities.map(entity => [stringifyEntityRef(entity), entity] as const))(
    '%s satisfies the Fediversity schemas',
    (_ref, entity) => {
      expect(validateFediversityEntity(entity).issues).toEqual([]);
    },
  );

  it('has an app definition for every app and core service of the notes, in its layer', () => {
    for (const [system, names] of Object.entries(NOTES_APPS)) {
      for (const name of names) {
        const entity = entities.find(e => stringifyEntityRef(e) === `component:default/${name}`);
        expect({ name, type: entity?.spec?.type, system: entity?.spec?.system }).toEqual({
          name,
          type: 'fediversity-app',
          system,
        });
      }
    }
  });

  it('references only entities that exist (or that the Proxmox provider emits)', () => {
    const dangling: string[] = [];
    const check = (from: Entity, value: unknown, defaultKind: string) => {
      const target = ref(String(value), defaultKind);
      if (!refs.has(target) && !PROVIDER_ENTITY.test(target)) {
        dangling.push(`${stringifyEntityRef(from)} -> ${target}`);
      }
    };
    for (const entity of entities) {
      const spec = (entity.spec ?? {}) as Record<string, any>;
      if (spec.owner) check(entity, spec.owner, 'Group');
      if (spec.system) check(entity, spec.system, 'System');
      if (spec.domain) check(entity, spec.domain, 'Domain');
      if (spec.parent) check(entity, spec.parent, 'Group');
      for (const child of spec.children ?? []) check(entity, child, 'Group');
      for (const group of spec.memberOf ?? []) check(entity, group, 'Group');
      const dependsOnKind = entity.kind === 'System' ? 'System' : 'Resource';
      for (const target of spec.dependsOn ?? []) check(entity, target, dependsOnKind);
      for (const service of spec.coreServices ?? []) check(entity, service, 'Component');
    }
    expect(dangling).toEqual([]);
  });

  it('lets apps depend only on core services', () => {
    const coreServices = new Set(NOTES_APPS['core-services'].map(name => `component:default/${name}`));
    const misplaced = entities.flatMap(entity =>
      ((entity.spec?.coreServices ?? []) as string[])
        .map(service => ref(service, 'Component'))
        .filter(service => !coreServices.has(service))
        .map(service => `${entity.metadata.name} -> ${service}`),
    );
    expect(misplaced).toEqual([]);
  });

  describe('loaded by the real catalog backend with our processor', () => {
    let catalog: Awaited<ReturnType<typeof startCatalogWithProcessor>>;

    beforeAll(async () => {
      catalog = await startCatalogWithProcessor(path.join(CATALOG_DIR, 'all.yaml'));
    });


    it('ingests every entity without a processing error', async () => {
      const expected = [...refs].sort();
      await eventually('every catalog/ entity in the catalog', async () => {
        const present = (await catalog.queryEntities('metadata.namespace=default')).map(e => stringifyEntityRef(e));
        return expected.every(r => present.includes(r)) ? true : undefined;
      });
      expect(Object.fromEntries(catalog.processingErrors)).toEqual({});
    });

    it('lists apps by SWOT keyword tag and by owner', async () => {
      // The catalog's search index trails entity ingestion on a loaded machine: wait for the expected set,
      // then compare, so a wrong set still fails with a readable diff.
      const names = async (filter: string, expected: string[]) => {
        const query = async () =>
          (await catalog.queryEntities(filter)).map(entity => entity.metadata.name).sort();
        await eventually(filter, async () =>
          JSON.stringify(await query()) === JSON.stringify(expected) ? true : undefined,
        ).catch(() => undefined);
        return query();
      };
      const byThreat = ['gotosocial', 'mastodon', 'peertube', 'pixelfed', 'synapse'];
      expect(await names('spec.type=fediversity-app,metadata.tags=threat-domain-fixed', byThreat)).toEqual(byThreat);
      const byWeakness = ['cryptpad', 'vikunja'];
      expect(await names('spec.type=fediversity-app,metadata.tags=weakness-no-object-storage', byWeakness)).toEqual(
        byWeakness,
      );
      const byOwner = [...NOTES_APPS['core-services']].sort();
      expect(await names('spec.type=fediversity-app,relations.ownedBy=group:default/platform-team', byOwner)).toEqual(
        byOwner,
      );
    });
  });
});
