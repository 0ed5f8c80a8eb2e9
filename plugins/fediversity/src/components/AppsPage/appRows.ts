import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  Swot,
  SwotKeywords,
  readLicence,
  readSwot,
  readSwotKeywords,
} from '../../appDefinition';

/** One app definition as the Apps page lists it. */
export interface AppRow {
  id: string;
  entity: Entity;
  title: string;
  description?: string;
  /** Full entity ref of the owner (`group:default/social-team`), or undefined when the entity has none. */
  ownerRef?: string;
  licence?: string;
  swot: Swot;
  swotKeywords: SwotKeywords;
}

export interface AppFilter {
  /** Full owner entity ref; undefined lists every owner. */
  ownerRef?: string;
  /** Matched case-insensitively against the app's weaknesses and threats and their keywords. */
  keyword?: string;
}

function ownerRefOf(entity: Entity): string | undefined {
  const owner = entity.spec?.owner;
  if (typeof owner !== 'string' || owner === '') return undefined;
  try {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: entity.metadata.namespace ?? 'default',
      }),
    );
  } catch {
    return undefined;
  }
}

export function toAppRow(entity: Entity): AppRow {
  return {
    id: stringifyEntityRef(entity),
    entity,
    title: entity.metadata.title ?? entity.metadata.name,
    description: entity.metadata.description,
    ownerRef: ownerRefOf(entity),
    licence: readLicence(entity),
    swot: readSwot(entity),
    swotKeywords: readSwotKeywords(entity),
  };
}

/** The weaknesses and threats of `row` that contain `keyword` (all of them for an empty keyword). */
export function matchingRisks(row: AppRow, keyword: string): string[] {
  const needle = keyword.trim().toLocaleLowerCase();
  const risks = [...row.swot.weaknesses, ...row.swot.threats];
  if (needle === '') return risks;
  return risks.filter(risk => risk.toLocaleLowerCase().includes(needle));
}

/** The weakness and threat keywords of `row` (`spec.swotKeywords`) that contain `keyword`. */
export function matchingRiskKeywords(row: AppRow, keyword: string): string[] {
  const needle = keyword.trim().toLocaleLowerCase();
  const keywords = [...row.swotKeywords.weaknesses, ...row.swotKeywords.threats];
  return keywords.filter(candidate => candidate.toLocaleLowerCase().includes(needle));
}

export function filterApps(rows: AppRow[], filter: AppFilter): AppRow[] {
  const keyword = filter.keyword?.trim() ?? '';
  return rows.filter(
    row =>
      (!filter.ownerRef || row.ownerRef === filter.ownerRef) &&
      (keyword === '' ||
        matchingRisks(row, keyword).length > 0 ||
        matchingRiskKeywords(row, keyword).length > 0),
  );
}

/** Distinct owner refs, sorted, for the owner filter. */
export function ownersOf(rows: AppRow[]): string[] {
  const owners = new Set<string>();
  for (const row of rows) {
    if (row.ownerRef) owners.add(row.ownerRef);
  }
  return [...owners].sort();
}
