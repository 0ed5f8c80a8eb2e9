import fs from 'node:fs';
import path from 'node:path';
import { INDEXED_KEY_COUNTS } from './builtin';
import { perlPatternToRegExp } from './perlRegex';
import { MethodSchema, ParamSchema, PropertyStringFormat } from './types';

/**
 * Reads the official PVE API schema (pve-docs' apidata.js as JSON, AGPL: read at
 * runtime, never copied into this repository) and converts the methods the simulator
 * implements into its MethodSchema form.
 */

interface ApidocNode {
  path: string;
  info?: Record<string, { parameters?: { additionalProperties?: number; properties?: Record<string, RawProperty> } }>;
  children?: ApidocNode[];
}

type RawProperty = Record<string, unknown>;

/** PVE_APIDOC, else ../shared/data/pve-apidoc.json relative to the repository root. */
export function defaultApidocPath(repoRoot: string): string {
  return process.env.PVE_APIDOC ?? path.resolve(repoRoot, '..', 'shared', 'data', 'pve-apidoc.json');
}

export function readApidoc(file: string): ApidocNode[] {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ApidocNode[];
}

/** All `METHOD /path` keys with their raw parameter definitions. */
export function indexApidoc(roots: ApidocNode[]): Map<string, { additionalProperties: boolean; properties: Record<string, RawProperty> }> {
  const result = new Map<string, { additionalProperties: boolean; properties: Record<string, RawProperty> }>();
  const walk = (node: ApidocNode) => {
    for (const [httpMethod, info] of Object.entries(node.info ?? {})) {
      result.set(`${httpMethod} ${node.path}`, {
        // PVE checks unknown keys only when additionalProperties is defined and false.
        additionalProperties: info.parameters?.additionalProperties === undefined || Boolean(Number(info.parameters.additionalProperties)),
        properties: info.parameters?.properties ?? {},
      });
    }
    node.children?.forEach(walk);
  };
  roots.forEach(walk);
  return result;
}

export function convertProperty(raw: RawProperty): ParamSchema {
  const schema: ParamSchema = {};
  if (typeof raw.type === 'string') schema.type = raw.type as ParamSchema['type'];
  if (raw.optional !== undefined) schema.optional = Boolean(Number(raw.optional));
  if (Array.isArray(raw.enum)) schema.enum = raw.enum.map(String);
  for (const key of ['minimum', 'maximum', 'minLength', 'maxLength'] as const) {
    if (raw[key] !== undefined) schema[key] = Number(raw[key]);
  }
  if (typeof raw.pattern === 'string') schema.pattern = perlPatternToRegExp(raw.pattern);
  if (typeof raw.format === 'string') schema.format = raw.format;
  else if (raw.format && typeof raw.format === 'object') {
    const sub: PropertyStringFormat = {};
    for (const [key, value] of Object.entries(raw.format as Record<string, RawProperty>)) sub[key] = convertProperty(value);
    schema.format = sub;
  }
  if (typeof raw.requires === 'string') schema.requires = raw.requires;
  if (raw.items && typeof raw.items === 'object') schema.items = convertProperty(raw.items as RawProperty);
  if (raw.default_key !== undefined) schema.default_key = Boolean(Number(raw.default_key));
  if (typeof raw.alias === 'string') schema.alias = raw.alias;
  if (typeof raw.keyAlias === 'string') schema.keyAlias = raw.keyAlias;
  return schema;
}

/** Converts one method; `net[n]` becomes net0..net31 using the simulator's index ranges. */
export function convertMethod(raw: { additionalProperties: boolean; properties: Record<string, RawProperty> }): MethodSchema {
  const properties: Record<string, ParamSchema> = {};
  for (const [name, definition] of Object.entries(raw.properties)) {
    const schema = convertProperty(definition);
    const indexed = /^(.+)\[n\]$/.exec(name);
    if (!indexed) {
      properties[name] = schema;
      continue;
    }
    const count = INDEXED_KEY_COUNTS[indexed[1]];
    if (count === undefined) throw new Error(`apidoc: no known index range for '${name}'`);
    for (let i = 0; i < count; i++) properties[`${indexed[1]}${i}`] = schema;
  }
  return { properties, additionalProperties: raw.additionalProperties };
}

/** Method schemas from the official file for the given keys; throws if one is missing. */
export function loadApidocMethodSchemas(file: string, keys: string[]): Record<string, MethodSchema> {
  const index = indexApidoc(readApidoc(file));
  const result: Record<string, MethodSchema> = {};
  for (const key of keys) {
    const raw = index.get(key);
    if (!raw) throw new Error(`apidoc ${file} has no method '${key}'`);
    result[key] = convertMethod(raw);
  }
  return result;
}
