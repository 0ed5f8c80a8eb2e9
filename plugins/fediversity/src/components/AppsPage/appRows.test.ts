import { filterApps, matchingRisks, ownersOf, toAppRow } from './appRows';
import { appDefinition, forgejo, mastodon } from '../../testEntities';

describe('app rows', () => {
  const rows = [mastodon, forgejo].map(toAppRow);

  it('reads title, owner (as a full ref in the entity namespace), licence and SWOT', () => {
    expect(rows[1]).toMatchObject({
      id: 'component:default/forgejo',
      title: 'Forgejo',
      ownerRef: 'group:default/dev-team',
      licence: 'GPL-3.0-or-later',
      swotKeywords: { weaknesses: ['local-disk'], threats: ['spam'] },
    });
    expect(toAppRow(appDefinition('bare', { owner: undefined, swot: undefined }))).toMatchObject({
      ownerRef: undefined,
      licence: undefined,
      swot: { strengths: [], weaknesses: [], opportunities: [], threats: [] },
    });
  });

  it('lists distinct owners, sorted', () => {
    expect(ownersOf([...rows, ...rows])).toEqual(['group:default/dev-team', 'group:default/platform']);
  });

  it('filters by owner', () => {
    expect(filterApps(rows, { ownerRef: 'group:default/platform' }).map(r => r.title)).toEqual(['Mastodon']);
    expect(filterApps(rows, {}).map(r => r.title)).toEqual(['Mastodon', 'Forgejo']);
  });

  it('matches a keyword case-insensitively in weaknesses, threats and their keywords, not in strengths', () => {
    expect(filterApps(rows, { keyword: 'STORAGE' }).map(r => r.title)).toEqual(['Mastodon']);
    expect(filterApps(rows, { keyword: 'spam' }).map(r => r.title)).toEqual(['Forgejo']);
    expect(filterApps(rows, { keyword: 'local-disk' }).map(r => r.title)).toEqual(['Forgejo']);
    expect(filterApps(rows, { keyword: 'community' })).toEqual([]);
    expect(filterApps(rows, { keyword: 'disk', ownerRef: 'group:default/platform' })).toEqual([]);
    expect(matchingRisks(rows[0], 'rails')).toEqual(['Heavy: Rails, Sidekiq, Node and PostgreSQL']);
  });
});
