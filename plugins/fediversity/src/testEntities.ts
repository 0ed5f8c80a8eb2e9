import { Entity } from '@backstage/catalog-model';
import { ANNOTATION_APP } from '@fediversity/plugin-fediversity-common';

/** Small catalog fixtures for the component tests. */
export function appDefinition(
  name: string,
  spec: Record<string, unknown> = {},
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', title: name[0].toUpperCase() + name.slice(1) },
    spec: { type: 'fediversity-app', lifecycle: 'production', owner: 'group:default/platform', ...spec },
  };
}

export const mastodon = appDefinition('mastodon', {
  license: 'AGPL-3.0-only',
  swot: {
    strengths: ['Reference ActivityPub server'],
    weaknesses: ['Heavy: Rails, Sidekiq, Node and PostgreSQL'],
    opportunities: ['Institutions leaving X'],
    threats: ['Media storage grows without bound'],
  },
  swotKeywords: { weaknesses: ['resource-heavy'], threats: ['unbounded-storage'] },
});

export const forgejo = appDefinition('forgejo', {
  owner: 'dev-team',
  license: 'GPL-3.0-or-later',
  swot: {
    strengths: ['Community governed'],
    weaknesses: ['Repositories on local disk'],
    opportunities: ['ForgeFed federation'],
    threats: ['Spam accounts on open registration'],
  },
  swotKeywords: { weaknesses: ['local-disk'], threats: ['spam'] },
});

export function instanceOf(appRef: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'social-example-org',
      namespace: 'default',
      annotations: { [ANNOTATION_APP]: appRef },
    },
    spec: { type: 'service', lifecycle: 'production', owner: 'group:default/platform' },
  };
}
