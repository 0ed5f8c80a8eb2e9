import type { Entity } from '@backstage/catalog-model';
import { fediversityEntityRole, formatFieldPath, validateFediversityEntity } from './entity';
import { swotKeywordTags } from './swot';
import { validAppDefinition } from './testFixtures';

function entity(kind: string, spec: NonNullable<Entity['spec']>, annotations?: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name: 'x', annotations },
    spec,
  };
}

describe('validateFediversityEntity', () => {
  it('leaves entities without our fields alone', () => {
    expect(validateFediversityEntity(entity('Component', { type: 'website' }))).toEqual({
      role: undefined,
      issues: [],
    });
    expect(fediversityEntityRole(entity('Resource', { type: 'proxmox-node' }))).toBeUndefined();
    expect(fediversityEntityRole(entity('System', { owner: 'x' }))).toBeUndefined();
  });

  it('validates the app annotation of running instances', () => {
    const good = entity('Component', { type: 'service' }, { 'fediversity.eu/app': 'component:default/mastodon' });
    expect(validateFediversityEntity(good)).toEqual({ role: 'instance', issues: [] });

    const bad = entity('Component', { type: 'website' }, { 'fediversity.eu/app': 'mastodon' });
    expect(validateFediversityEntity(bad).issues).toEqual([
      {
        path: 'metadata.annotations["fediversity.eu/app"]',
        message: 'must be a full Component reference like component:default/mastodon',
      },
      {
        path: 'spec.type',
        message: 'must be "service": the fediversity.eu/app annotation marks running instances',
      },
    ]);
    const wrongKind = entity('Component', { type: 'service' }, { 'fediversity.eu/app': 'resource:default/demo' });
    expect(validateFediversityEntity(wrongKind).issues).toEqual([
      {
        path: 'metadata.annotations["fediversity.eu/app"]',
        message: 'must be a full Component reference like component:default/mastodon',
      },
    ]);
  });

  it('validates the storage resources of the notes', () => {
    const zfs = entity('Resource', {
      type: 'zfs-dataset',
      owner: 'group:default/platform-team',
      dependsOn: ['resource:default/demo-pve-a-local-zfs'],
      dataset: 'rpool/data/fediversity',
    });
    expect(validateFediversityEntity(zfs)).toEqual({ role: 'storage', issues: [] });

    const bucket = entity('Resource', {
      type: 'blob-bucket',
      owner: 'group:default/platform-team',
      dependsOn: [],
      endpoint: 'ftp://garage.local',
      bucket: 'Media',
      region: 'garage',
      implementation: 'garage',
      secretAccessKey: 'abc',
    });
    expect(validateFediversityEntity(bucket).issues).toEqual([
      { path: 'spec.dependsOn', message: 'name the storage pool(s) this storage lives on' },
      { path: 'spec.endpoint', message: 'must be an http(s) URL' },
      { path: 'spec.bucket', message: 'must be an S3 bucket name (3-63 of a-z, 0-9, ".", "-")' },
      {
        path: 'spec.secretAccessKey',
        message: 'looks like a secret; secrets never go into the catalog (reference a secret store instead)',
      },
    ]);

    const filesystem = entity('Resource', {
      type: 'exclusive-filesystem',
      owner: 'group:default/platform-team',
      dependsOn: ['resource:default/demo-pve-a-local'],
      path: 'var/lib/apps',
      filesystem: 'ext4',
    });
    expect(validateFediversityEntity(filesystem).issues).toEqual([
      { path: 'spec.path', message: 'must be an absolute path of [A-Za-z0-9._@+-] segments' },
    ]);
  });

  it('rejects secret-looking spec keys on an otherwise valid entity', () => {
    const bucket = entity('Resource', {
      type: 'blob-bucket',
      owner: 'group:default/platform-team',
      dependsOn: ['resource:default/demo-pve-a-local'],
      endpoint: 'http://127.0.0.1:3900',
      bucket: 'media',
      region: 'garage',
      implementation: 'garage',
      secretAccessKey: 'abc',
    });
    expect(validateFediversityEntity(bucket).issues).toEqual([
      {
        path: 'spec.secretAccessKey',
        message: 'looks like a secret; secrets never go into the catalog (reference a secret store instead)',
      },
    ]);
  });

  it('validates the layer arrows on Systems', () => {
    const system = entity('System', { owner: 'platform-team', dependsOn: ['hardware', 'group:default/x'] });
    expect(validateFediversityEntity(system)).toEqual({
      role: 'layer-system',
      issues: [{ path: 'spec.dependsOn[1]', message: '"group:default/x" must reference a System, not a group' }],
    });
  });

  it('derives tags from SWOT keywords', () => {
    const app = validAppDefinition();
    expect(swotKeywordTags((app.spec as any).swotKeywords)).toEqual([
      'threat-domain-fixed',
      'threat-key-loss',
      'weakness-beta',
    ]);
  });

  it('formats field paths', () => {
    expect(formatFieldPath(['spec', 'dataClasses', 0, 'quiesce', 1])).toBe('spec.dataClasses[0].quiesce[1]');
    expect(formatFieldPath(['metadata', 'annotations', 'fediversity.eu/app'])).toBe(
      'metadata.annotations["fediversity.eu/app"]',
    );
  });
});
