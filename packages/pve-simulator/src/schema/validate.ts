import { FormatFailure, NamedFormat, splitList } from './formats';
import { ErrorMap, MethodSchema, ParamSchema, PropertyStringFormat } from './types';

/**
 * Parameter validation as PVE::JSONSchema::validate does it: all errors are collected
 * into `{path: message}`; checks run in PVE's order (type, format, pattern, length,
 * range, enum) and stop at the first failure per property.
 */
export class ParameterValidator {
  constructor(private readonly formats: Map<string, NamedFormat>) {}

  validate(schema: MethodSchema, params: Record<string, unknown>): ErrorMap {
    const errors: ErrorMap = {};
    this.checkObject('', schema.properties, params, schema.additionalProperties, errors);
    return errors;
  }

  /** Parses a property string (e.g. `net0`) into its sub-keys; throws FormatFailure. */
  parsePropertyString(format: PropertyStringFormat, data: string, path: string): Record<string, string> {
    const result: Record<string, string> = {};
    let defaultKey: string | undefined;
    for (const part of data.split(',')) {
      if (/^\s*$/.test(part)) continue;
      const pair = /^([^=]+)=([\s\S]+)$/.exec(part);
      if (pair) {
        let key = pair[1];
        let value = pair[2];
        if (result[key] !== undefined) throw new FormatFailure(`duplicate key in comma-separated list property: ${key}\n`);
        let sub = Object.prototype.hasOwnProperty.call(format, key) ? format[key] : undefined;
        if (sub?.alias) {
          if (sub.keyAlias) {
            if (result[sub.keyAlias] !== undefined) throw new FormatFailure(`key alias '${sub.keyAlias}' is already defined\n`);
            result[sub.keyAlias] = key;
          }
          key = sub.alias;
          sub = format[key];
        }
        if (!sub) throw new FormatFailure(`invalid key in comma-separated list property: ${key}\n`);
        if (sub.type === 'boolean') value = parseBoolean(value) ?? value;
        result[key] = value;
      } else if (!part.includes('=')) {
        if (defaultKey) throw new FormatFailure(`duplicate key in comma-separated list property: ${defaultKey}\n`);
        for (const [key, sub] of Object.entries(format)) {
          if (!sub.default_key) continue;
          defaultKey = key;
          if (result[key]) throw new FormatFailure(`duplicate key in comma-separated list property: ${key}\n`);
          result[key] = part;
          break;
        }
        if (!defaultKey) throw new FormatFailure('value without key, but schema does not define a default key\n');
      } else {
        throw new FormatFailure('missing key in comma-separated list property\n');
      }
    }
    const errors: ErrorMap = {};
    this.checkObject(path, format, result, false, errors);
    if (Object.keys(errors).length > 0) throw new FormatFailure('format error\n', errors);
    return result;
  }

  private checkObject(
    path: string,
    properties: Record<string, ParamSchema>,
    value: Record<string, unknown>,
    additionalProperties: boolean,
    errors: ErrorMap,
  ): void {
    for (const [key, schema] of Object.entries(properties)) {
      this.checkProp(value[key], schema, path ? `${path}.${key}` : key, errors);
    }
    for (const key of Object.keys(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      const schema = Object.prototype.hasOwnProperty.call(properties, key) ? properties[key] : undefined;
      if (schema) {
        if (schema.requires && value[schema.requires] === undefined) {
          addError(errors, path ? `${path}.${schema.requires}` : schema.requires, `missing property - '${keyPath}' requires this property`);
        }
        continue;
      }
      if (!additionalProperties) {
        addError(errors, keyPath, 'property is not defined in schema and the schema does not allow additional properties');
      }
    }
  }

  private checkProp(value: unknown, schema: ParamSchema, path: string, errors: ErrorMap): void {
    if (value === undefined || value === null) {
      if (schema.type === 'null') return;
      if (!schema.optional && !schema.alias) addError(errors, path, 'property is missing and it is not optional');
      return;
    }
    if (!checkType(path, schema.type, value, errors)) return;
    if (Array.isArray(value)) {
      if (schema.items) value.forEach((item, i) => this.checkProp(item, schema.items!, `${path}[${i}]`, errors));
      return;
    }
    if (typeof value === 'object') return;
    const text = valueText(value);
    if (schema.format) {
      try {
        this.checkFormat(schema.format, text, path);
      } catch (e) {
        if (!(e instanceof FormatFailure)) throw e;
        addError(errors, path, `invalid format - ${e.render()}`);
        return;
      }
    }
    if (schema.pattern && !schema.pattern.test(text)) {
      addError(errors, path, 'value does not match the regex pattern');
      return;
    }
    if (schema.maxLength !== undefined && [...text].length > schema.maxLength) {
      addError(errors, path, `value may only be ${schema.maxLength} characters long`);
      return;
    }
    if (schema.minLength !== undefined && [...text].length < schema.minLength) {
      addError(errors, path, `value must be at least ${schema.minLength} characters long`);
      return;
    }
    if (isNumber(text)) {
      if (schema.maximum !== undefined && Number(text) > schema.maximum) {
        addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
        return;
      }
      if (schema.minimum !== undefined && Number(text) < schema.minimum) {
        addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
        return;
      }
    }
    if (schema.enum && !schema.enum.includes(text)) {
      addError(errors, path, `value '${text}' does not have a value in the enumeration '${schema.enum.join(', ')}'`);
    }
  }

  private checkFormat(format: string | PropertyStringFormat, value: string, path: string): void {
    if (typeof format !== 'string') {
      this.parsePropertyString(format, value, path);
      return;
    }
    if (format === 'regex') return;
    const [, name, kind] = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
    const registered = this.formats.get(name);
    if (!registered) throw new FormatFailure(`undefined format '${format}'\n`);
    if (kind && registered.kind !== 'code') throw new FormatFailure(`'-${kind}' format must have code ref, not hash\n`);
    if (registered.kind === 'hash') {
      this.parsePropertyString(registered.schema, value, path);
    } else if (kind === 'list') {
      splitList(value).forEach(entry => registered.verify(entry));
    } else if (kind === 'opt') {
      if (value !== '' && value !== '0') registered.verify(value);
    } else {
      registered.verify(value);
    }
  }
}

/** PVE: booleans inside property strings accept 1|on|yes|true and 0|off|no|false. */
export function parseBoolean(value: string): '1' | '0' | undefined {
  if (/^(1|on|yes|true)$/i.test(value)) return '1';
  if (/^(0|off|no|false)$/i.test(value)) return '0';
  return undefined;
}

/** A scalar as PVE's checks see it: booleans are 1 and 0. */
function valueText(value: unknown): string {
  if (value === true) return '1';
  if (value === false) return '0';
  return String(value);
}

function isNumber(value: string): boolean {
  return /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(value);
}

function perlRefName(value: unknown): string {
  if (Array.isArray(value)) return 'ARRAY';
  if (typeof value === 'boolean') return 'JSON::PP::Boolean';
  return 'HASH';
}

function checkType(path: string, type: ParamSchema['type'], value: unknown, errors: ErrorMap): boolean {
  if (!type) return true;
  const isRef = typeof value === 'object' || typeof value === 'boolean';
  if (type === 'array' || type === 'object') {
    const ok = type === 'array' ? Array.isArray(value) : typeof value === 'object' && !Array.isArray(value);
    if (!ok) addError(errors, path, `type check ('${type}') failed`);
    return ok;
  }
  if (type === 'null') {
    addError(errors, path, `type check ('${type}') failed - value is not null`);
    return false;
  }
  if (isRef) {
    if (type === 'boolean' && typeof value === 'boolean') return true;
    addError(errors, path, `type check ('${type}') failed - got ${perlRefName(value)}`);
    return false;
  }
  const text = String(value);
  const ok =
    type === 'string' ||
    (type === 'boolean' && (text === '1' || text === '0')) ||
    (type === 'integer' && /^[+-]?\d+$/.test(text)) ||
    (type === 'number' && isNumber(text));
  if (!ok) addError(errors, path, `type check ('${type}') failed - got '${text}'`);
  return ok;
}

/** PVE joins several messages for one path with a literal backslash-n. */
function addError(errors: ErrorMap, path: string, message: string): void {
  const key = path || '_root';
  errors[key] = errors[key] ? `${errors[key]}\\n${message}` : message;
}
