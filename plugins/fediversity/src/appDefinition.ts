import { Entity } from '@backstage/catalog-model';
import {
  ANNOTATION_APP,
  APP_DEFINITION_TYPE,
  Swot,
  SwotKeywords,
} from '@fediversity/plugin-fediversity-common';

export { APP_DEFINITION_TYPE };
export type { Swot, SwotKeywords };

export const SWOT_QUADRANTS = [
  { key: 'strengths', title: 'Strengths' },
  { key: 'weaknesses', title: 'Weaknesses' },
  { key: 'opportunities', title: 'Opportunities' },
  { key: 'threats', title: 'Threats' },
] as const satisfies ReadonlyArray<{ key: keyof Swot; title: string }>;

export function isAppDefinition(entity: Entity): boolean {
  return (
    entity.kind.toLocaleLowerCase('en-US') === 'component' &&
    entity.spec?.type === APP_DEFINITION_TYPE
  );
}

/** The app definition an instance (or other entity) uses, from its `fediversity.eu/app` annotation. */
export function appRefOf(entity: Entity): string | undefined {
  return entity.metadata.annotations?.[ANNOTATION_APP] || undefined;
}

/** True for entities the SWOT card belongs on: app definitions and everything that uses one. */
export function hasSwot(entity: Entity): boolean {
  return isAppDefinition(entity) || appRefOf(entity) !== undefined;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}

/**
 * Reads `spec.swot` of an app definition. The catalog processor validates it; the frontend still reads
 * defensively, because an entity may come from a source that is not processed by our validator.
 */
export function readSwot(entity: Entity): Swot {
  const swot = (entity.spec?.swot ?? {}) as Record<string, unknown>;
  return {
    strengths: stringList(swot.strengths),
    weaknesses: stringList(swot.weaknesses),
    opportunities: stringList(swot.opportunities),
    threats: stringList(swot.threats),
  };
}

/** Where an app's SWOT was checked (`spec.swot.sources`); empty when it was written from general knowledge. */
export function readSwotSources(entity: Entity): string[] {
  const swot = (entity.spec?.swot ?? {}) as Record<string, unknown>;
  return stringList(swot.sources).filter(url => url.startsWith('https://'));
}

/** Reads `spec.swotKeywords` (machine keywords of the weaknesses and threats), empty lists when absent. */
export function readSwotKeywords(entity: Entity): SwotKeywords {
  const keywords = (entity.spec?.swotKeywords ?? {}) as Record<string, unknown>;
  return {
    weaknesses: stringList(keywords.weaknesses),
    threats: stringList(keywords.threats),
  };
}

export function isSwotEmpty(swot: Swot): boolean {
  return SWOT_QUADRANTS.every(({ key }) => swot[key].length === 0);
}

/** The licence of an app definition (SPDX expression), if recorded. */
export function readLicence(entity: Entity): string | undefined {
  const licence = entity.spec?.licence ?? entity.spec?.license;
  return typeof licence === 'string' ? licence : undefined;
}
