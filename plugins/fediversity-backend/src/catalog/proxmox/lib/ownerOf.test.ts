import { DEFAULT_OWNER, ownerOf } from './ownerOf';

describe('ownerOf', () => {
  it('prefers an owner tag, then the pool, then the platform team', () => {
    expect(ownerOf({ tags: 'fediversity;owner-social-team', pool: 'ops' })).toBe('group:default/social-team');
    expect(ownerOf({ tags: 'fediversity', pool: 'ops' })).toBe('group:default/ops');
    expect(ownerOf({})).toBe(DEFAULT_OWNER);
  });

  it('ignores owner tags and pools that are not entity names', () => {
    expect(ownerOf({ tags: 'owner-a..b', pool: 'x' })).toBe('group:default/x');
    expect(ownerOf({ pool: 'a/b' })).toBe(DEFAULT_OWNER);
  });
});
