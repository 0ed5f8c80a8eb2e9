import { MethodSchema } from '../schema/types';

/**
 * Request parameters as pveproxy builds them: the form body (or a JSON body) merged
 * with the query string, the query winning; repeated keys joined by NUL.
 */
export function decodeUrlencoded(data: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (!data) return result;
  for (const pair of data.split(/[&;]/)) {
    if (pair === '') continue;
    const index = pair.indexOf('=');
    const key = decodeComponent(index < 0 ? pair : pair.slice(0, index));
    const value = index < 0 ? '' : decodeComponent(pair.slice(index + 1));
    result[key] = result[key] !== undefined ? `${result[key]}\0${value}` : value;
  }
  return result;
}

function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

export class BodyError extends Error {}

export function parseBody(contentType: string | undefined, body: string): Record<string, unknown> {
  if (!body) return {};
  if ((contentType ?? '').toLowerCase().startsWith('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      throw new BodyError(`malformed JSON string: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BodyError('JSON body must be an object');
    return parsed as Record<string, unknown>;
  }
  return decodeUrlencoded(body);
}

/** Array-typed parameters arrive as repeated form keys (NUL-joined): make them arrays. */
export function shapeArrays(schema: MethodSchema, params: Record<string, unknown>): Record<string, unknown> {
  const shaped = { ...params };
  for (const [key, value] of Object.entries(params)) {
    if (schema.properties[key]?.type === 'array' && typeof value === 'string') shaped[key] = value.split('\0');
  }
  return shaped;
}
