import { InputError } from '@backstage/errors';

/** A parameter value as the client's methods take it; encoded by {@link encodeParams}. */
export type PveParamValue = string | number | boolean | string[] | undefined;
export type PveParams = Record<string, PveParamValue>;

/**
 * Encodes parameters the way pve-http-server reads them: booleans as exactly `0`/`1`, arrays as repeated keys,
 * absent values dropped. Used for the query string (GET/DELETE) and the form body (POST/PUT).
 */
export function encodeParams(params: PveParams | undefined): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      search.append(key, encodeScalar(item));
    }
  }
  // URLSearchParams writes spaces as '+', which PVE decodes too; '%20' keeps the body unambiguous.
  return search.toString().replace(/\+/g, '%20');
}

function encodeScalar(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new InputError(`Not a finite number: ${value}`);
    }
    return String(value);
  }
  return value;
}

/** PVE writes booleans as `1`/`0`. */
function propertyValueText(value: string | number | boolean): string {
  if (value === true) return '1';
  if (value === false) return '0';
  return String(value);
}

/**
 * Builds a PVE property string (`name=eth0,bridge=vmbr0,ip=dhcp`). Values may not contain `,`, which would
 * smuggle in extra keys; booleans become `1`/`0`; absent values are dropped. `defaultKey` is written bare first.
 */
export function propertyString(
  values: Record<string, string | number | boolean | undefined>,
  defaultKey?: string,
): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const text = propertyValueText(value);
    // PVE splits on ',' and then on the first '=', so '=' is fine inside a keyed value but not in a bare one.
    if (/[,\n]/.test(text) || (key === defaultKey && text.includes('='))) {
      throw new InputError(
        `Property ${key} may not contain ',' or a newline (nor '=' as a bare value): ${JSON.stringify(
          text,
        )}`,
      );
    }
    if (key === defaultKey) parts.unshift(text);
    else parts.push(`${key}=${text}`);
  }
  return parts.join(',');
}

const TAG_PATTERN = /^[a-z0-9_][a-z0-9_\-+.]*$/i;

/** Joins tags as PVE stores them (`a;b`), rejecting anything that is not a valid `pve-tag`. */
export function tagList(tags: string[]): string {
  for (const tag of tags) {
    if (!TAG_PATTERN.test(tag)) {
      throw new InputError(`Not a valid Proxmox tag: ${JSON.stringify(tag)}`);
    }
  }
  return tags.join(';');
}

/** Splits a tag list from PVE (`a;b`, older releases also used `,` or spaces). */
export function parseTags(tags: string | undefined): string[] {
  return (tags ?? '').split(/[;, ]+/).filter(Boolean);
}
