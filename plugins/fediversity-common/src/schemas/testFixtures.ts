import type { Entity } from '@backstage/catalog-model';

/** A valid app definition, for tests to break one field at a time. */
export function validAppDefinition(): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'gotosocial' },
    spec: {
      type: 'fediversity-app',
      lifecycle: 'production',
      owner: 'group:default/social-team',
      system: 'fedi-services',
      license: 'AGPL-3.0-or-later',
      openCore: false,
      nixosModule: 'services.gotosocial',
      coreServices: ['component:default/bind9'],
      swot: {
        strengths: ['single Go binary'],
        weaknesses: ['beta'],
        opportunities: ['cheap per-tenant instances'],
        threats: ['lost keys kill the domain'],
      },
      swotKeywords: { weaknesses: ['beta'], threats: ['domain-fixed', 'key-loss'] },
      dataClasses: [
        {
          name: 'database',
          kind: 'database',
          engine: 'sqlite',
          path: '/var/lib/gotosocial/database.sqlite',
          replication: 'rsync-quiesced',
          quiesce: [['systemctl', 'stop', 'gotosocial.service']],
          unquiesce: [['systemctl', 'start', 'gotosocial.service']],
        },
        {
          name: 'media',
          kind: 'directories',
          directories: ['/var/lib/gotosocial/storage'],
          replication: 'zfs-send',
          quiesce: [['systemctl', 'stop', 'gotosocial.service']],
          unquiesce: [['systemctl', 'start', 'gotosocial.service']],
        },
      ],
    },
  };
}
