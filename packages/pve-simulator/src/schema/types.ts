/**
 * The parameter-schema dialect of Proxmox VE (pve-common's PVE::JSONSchema), as the
 * simulator needs it: a property either has a named `format` (validated by code) or a
 * property-string format (an object whose keys are the sub-keys of a `k=v,k=v` string).
 */
export type ParamType =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'array'
  | 'object'
  | 'null';

export interface ParamSchema {
  type?: ParamType;
  /** PVE: absent or false means required. */
  optional?: boolean;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  /** Already anchored (`^(?:...)$`). */
  pattern?: RegExp;
  format?: string | PropertyStringFormat;
  /** Name of a sibling property that must be present when this one is. */
  requires?: string;
  items?: ParamSchema;
  /** Property-string sub-key that a bare value (without `k=`) fills. */
  default_key?: boolean;
  alias?: string;
  keyAlias?: string;
}

export type PropertyStringFormat = Record<string, ParamSchema>;

/** The parameters of one API method (`info[METHOD].parameters` in the apidoc). */
export interface MethodSchema {
  properties: Record<string, ParamSchema>;
  additionalProperties: boolean;
}

/** `{param: message}`, as PVE collects validation errors. */
export type ErrorMap = Record<string, string>;
