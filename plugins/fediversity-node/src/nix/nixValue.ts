/**
 * Rendering JSON-like values as Nix expression text, with every string escaped.
 *
 * The portal prefers JSON read by `builtins.fromJSON` (see hostFiles.ts); this exists for the
 * places where a `.nix` file is wanted, and is the only way Nix text is built from input.
 */
import { InputError } from '@backstage/errors';

/** What can be rendered: the JSON data model minus non-integer numbers. */
export type NixValue =
  | string
  | number
  | boolean
  | null
  | readonly NixValue[]
  | { readonly [key: string]: NixValue | undefined };

const NIX_KEYWORDS = new Set(['if', 'then', 'else', 'assert', 'with', 'let', 'in', 'rec', 'inherit', 'or']);
const BARE_ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = 64;
/**
 * Attribute names that change what a set means: `__functor`, `__toString` and `outPath` to Nix
 * itself (calls, string coercion, toJSON), `_type` to the module system (mkIf, mkForce…).
 */
const RESERVED_ATTRIBUTE_NAME = /^(?:__|_type$|outPath$)/;

/**
 * Nix double-quoted string escapes. `$` is always escaped, so neither `${` nor `$${` can start an
 * interpolation; CR must be escaped because the Nix lexer turns a raw CR (and CRLF) into LF.
 */
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  $: '\\$',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A Nix string literal (`"…"`) whose value is exactly `value`. */
export function toNixString(value: string): string {
  if (value.includes('\u0000')) {
    // Nix strings are NUL-terminated: the value would be cut short without an error.
    throw new InputError('Nix strings cannot contain NUL characters');
  }
  if (LONE_SURROGATE.test(value)) {
    throw new InputError('Nix strings must be well-formed Unicode (lone surrogate found)');
  }
  return `"${value.replace(/[\\"$\n\r\t]/g, c => ESCAPES[c])}"`;
}

/** An attribute name: bare when it is a plain identifier, otherwise a quoted string. */
export function toNixAttributeName(name: string): string {
  if (RESERVED_ATTRIBUTE_NAME.test(name)) {
    throw new InputError(`Attribute name ${JSON.stringify(name)} has a special meaning in Nix`);
  }
  return BARE_ATTRIBUTE_NAME.test(name) && !NIX_KEYWORDS.has(name) ? name : toNixString(name);
}

function renderNumber(value: number): string {
  if (!Number.isSafeInteger(value)) {
    // Nix floats print with less precision than JS numbers; nothing we render needs them.
    throw new InputError(`Only safe integers can be rendered for Nix, got ${value}`);
  }
  // A negative literal is not a list element on its own (`[ -1 ]` is a syntax error).
  return value < 0 ? `(${value})` : String(value);
}

function isPlainObject(value: object): value is Record<string, NixValue | undefined> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function render(value: NixValue, indent: string, depth: number): string {
  if (depth > MAX_DEPTH) {
    throw new InputError(`Value is nested deeper than ${MAX_DEPTH} levels`);
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return toNixString(value);
    case 'number':
      return renderNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new InputError(`Cannot render a ${typeof value} as Nix`);
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[ ]';
    const items = value.map(item => `${inner}${render(item, inner, depth + 1)}\n`);
    return `[\n${items.join('')}${indent}]`;
  }
  if (!isPlainObject(value)) {
    throw new InputError('Only plain objects can be rendered as Nix attribute sets');
  }
  const entries = Object.keys(value)
    .sort()
    .filter(key => value[key] !== undefined)
    .map(key => `${inner}${toNixAttributeName(key)} = ${render(value[key]!, inner, depth + 1)};\n`);
  if (entries.length === 0) return '{ }';
  return `{\n${entries.join('')}${indent}}`;
}

/**
 * Nix expression text evaluating to `value`: what `builtins.toJSON` of the result gives back
 * equals `JSON.stringify(value)` up to attribute order. Attributes whose value is `undefined`
 * are left out, as JSON.stringify does.
 */
export function renderNixValue(value: NixValue): string {
  return render(value, '', 0);
}
