export { libpqEnvironment, libpqKeywords, libpqSettings, passfileLine } from './libpq';
export type { LibpqSettings } from './libpq';
export { LINK_WHERE_ABSENT_SCRIPT, linkTargetFrom, listDataDirectoryLinksArgv, parseDataDirectoryLinks, restoreDataDirectoryLinksArgv } from './dataDirectoryLinks';
export type { DataDirectoryLink } from './dataDirectoryLinks';
