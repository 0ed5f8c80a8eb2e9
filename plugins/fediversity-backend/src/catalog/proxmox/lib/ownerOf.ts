import { parseTags } from '@fediversity/plugin-fediversity-node';

export const DEFAULT_OWNER = 'group:default/platform-team';

/** Backstage entity names: alphanumerics separated by single `-`, `_` or `.`, at most 63 characters. */
const ENTITY_NAME = /^[a-z0-9]+([-_.][a-z0-9]+)*$/i;

/**
 * The owning group of a guest: a tag `owner-<group>` wins, then the guest's pool, else the platform team.
 * Anything that is not a valid entity name falls through to the next rule.
 */
export function ownerOf(guest: { tags?: string; pool?: string }): string {
  const ownerTag = parseTags(guest.tags)
    .map(tag => /^owner-(.+)$/.exec(tag)?.[1])
    .find(group => group && ENTITY_NAME.test(group) && group.length <= 63);
  if (ownerTag) return `group:default/${ownerTag.toLowerCase()}`;
  if (guest.pool && ENTITY_NAME.test(guest.pool) && guest.pool.length <= 63) {
    return `group:default/${guest.pool.toLowerCase()}`;
  }
  return DEFAULT_OWNER;
}
