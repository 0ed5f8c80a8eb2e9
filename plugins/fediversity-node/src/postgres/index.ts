export { libpqEnvironment, libpqKeywords, passfileLine } from './libpq';
export type { LibpqSettings } from './libpq';
