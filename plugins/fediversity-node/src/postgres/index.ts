export { libpqEnvironment, libpqKeywords, libpqSettings, passfileLine } from './libpq';
export type { LibpqSettings } from './libpq';
