import { z } from 'zod';
import { kebabCaseSchema } from './refs';

const SWOT_LISTS = ['strengths', 'weaknesses', 'opportunities', 'threats'] as const;

function swotList(name: (typeof SWOT_LISTS)[number]) {
  const hint = `the ${name} list is required and must name at least one point`;
  return z
    .array(z.string().trim().min(1, 'a SWOT point must not be empty'), {
      required_error: hint,
      invalid_type_error: `${name} must be a list of strings`,
    })
    .min(1, hint);
}

/**
 * `spec.swot` of an app definition: the architecture notes ask for SWOT awareness of every app. Each list holds
 * short sentences for people (the frontend SWOT card renders them as written).
 */
export const swotSchema = z.object(
  {
    strengths: swotList('strengths'),
    weaknesses: swotList('weaknesses'),
    opportunities: swotList('opportunities'),
    threats: swotList('threats'),
    /**
     * Where the points were checked (official docs, code, issue threads). Absent means "written from general
     * knowledge": the SWOT card says so, so nobody mistakes it for a checked analysis.
     */
    sources: z
      .array(z.string().regex(/^https:\/\/[^\s/]+\.[^\s]+$/, 'a SWOT source must be an https URL'))
      .optional(),
  },
  { required_error: 'spec.swot is required (strengths, weaknesses, opportunities, threats)' },
);

export type Swot = z.infer<typeof swotSchema>;

/**
 * `spec.swotKeywords`: short machine keywords for the weaknesses and threats, e.g. `domain-fixed`. The processor
 * turns them into catalog tags (see {@link swotKeywordTags}), so the catalog's tag filter lists apps by them.
 */
export const swotKeywordsSchema = z.object(
  {
    weaknesses: z.array(kebabCaseSchema).min(1, 'name at least one weakness keyword'),
    threats: z.array(kebabCaseSchema).min(1, 'name at least one threat keyword'),
  },
  { required_error: 'spec.swotKeywords is required (weaknesses and threats keyword lists)' },
);

export type SwotKeywords = z.infer<typeof swotKeywordsSchema>;

/** Tag prefixes the processor derives from `spec.swotKeywords`. */
export const SWOT_WEAKNESS_TAG_PREFIX = 'weakness-';
export const SWOT_THREAT_TAG_PREFIX = 'threat-';

/** The catalog tags for SWOT keywords: `weakness-<keyword>` and `threat-<keyword>`, sorted and without duplicates. */
export function swotKeywordTags(keywords: SwotKeywords): string[] {
  const tags = [
    ...keywords.weaknesses.map(keyword => `${SWOT_WEAKNESS_TAG_PREFIX}${keyword}`),
    ...keywords.threats.map(keyword => `${SWOT_THREAT_TAG_PREFIX}${keyword}`),
  ];
  return [...new Set(tags)].sort();
}
