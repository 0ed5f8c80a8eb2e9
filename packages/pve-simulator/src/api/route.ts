import { Caller } from '../access/permissions';
import { SimulatorCore } from './core';

/** A permission check as the apidoc states it; `{x}` is replaced by parameter x. */
export type PermissionSpec =
  | { user: 'all' }
  | { perm: string; privs: string[]; any?: boolean }
  /** clone: VM.Clone on the source and VM.Allocate on the new id or its pool. */
  | { clone: true };

export type Params = Record<string, unknown>;

export interface RequestContext {
  core: SimulatorCore;
  caller: Caller;
  params: Params;
}

/** A handler's answer with the envelope's `total` (task logs). */
export class WithTotal {
  constructor(
    readonly data: unknown,
    readonly total: number,
  ) {}
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As in the apidoc, e.g. `/nodes/{node}/lxc/{vmid}/config`. */
  path: string;
  permissions: PermissionSpec;
  /** The call is proxied to the node named by {node} (unknown node: lookup failure; offline: 595). */
  proxyto?: boolean;
  /** false: refused to API tokens. */
  allowtoken?: boolean;
  handle(ctx: RequestContext): unknown;
}

export const schemaKey = (route: Pick<Route, 'method' | 'path'>) => `${route.method} ${route.path}`;

/** Reads an integer parameter (validated before). */
export function intParam(params: Params, name: string): number | undefined {
  const value = params[name];
  return value === undefined || value === null ? undefined : Number(value);
}

/** Reads a boolean parameter: `1`/`0` on the wire, true/false in JSON. */
export function flagParam(params: Params, name: string): boolean {
  const value = params[name];
  return value === true || value === 1 || value === '1';
}

export function strParam(params: Params, name: string): string | undefined {
  const value = params[name];
  return value === undefined || value === null ? undefined : String(value);
}
