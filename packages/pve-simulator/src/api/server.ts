import http from 'node:http';
import { Caller, PermissionDenied } from '../access/permissions';
import { SimGuest } from '../state/model';
import { authenticate } from './auth';
import { SimulatorCore } from './core';
import { ApiError, failure, parameterError } from './errors';
import { allocateDisk } from './handlers/guestHelpers';
import { BodyError, decodeUrlencoded, parseBody, shapeArrays } from './params';
import { PermissionSpec, Route, schemaKey, WithTotal } from './route';
import { Router } from './routes';

const MAX_BODY_BYTES = 64 * 1024;

/** The caller of an unauthenticated login request. */
const ANONYMOUS: Caller = { userid: '', fullId: '' };

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface ApiServerOptions {
  /** PVE delays 401 answers by about 3 s to slow down guessing. */
  authFailureDelayMs: number;
}

interface Reply {
  status: number;
  message?: string;
  body?: unknown;
  /** 401 and proxy errors carry no body and no Content-Type. */
  empty?: boolean;
}

/**
 * The request pipeline of pveproxy/pvedaemon, in its order: authentication, method
 * lookup (501), URI/body parameter merge, permission check (403), proxying to the
 * node (unknown node: lookup error; offline: 595), schema validation (400), handler.
 */
export class ApiServer {
  private readonly router: Router;
  /** Ends the pauses of requests in flight (the 401 delay, fault delays); see close(). */
  private readonly pauses = new Set<(error: Error) => void>();

  constructor(
    private readonly core: SimulatorCore,
    routes: Route[],
    private readonly options: ApiServerOptions,
  ) {
    this.router = new Router(routes);
  }

  /**
   * Ends the pauses of the requests in flight, which then fail: a closed simulator keeps no timer running
   * (a fault's `delayMs` of seconds would otherwise outlive the server and keep its process alive).
   */
  close(): void {
    for (const end of [...this.pauses]) end(new Error('simulator closed'));
  }

  private sleep(ms: number): Promise<void> {
    const pauses = this.pauses;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(end, ms);
      pauses.add(end);
      function end(error?: Error) {
        clearTimeout(timer);
        pauses.delete(end);
        if (error) reject(error);
        else resolve();
      }
    });
  }

  readonly listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.handle(req)
      .then(reply => send(res, reply))
      .catch(error => send(res, { status: 500, message: `internal simulator error: ${(error as Error).message}\n`, body: { data: null } }));
  };

  private async handle(req: http.IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const method = (req.method ?? 'GET').toUpperCase();
    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch (e) {
      return errorReply(new ApiError(413, `${(e as Error).message}\n`));
    }
    const apiPath = /^\/api2\/json(\/.*)?$/.exec(url.pathname);
    const relPath = (apiPath?.[1] ?? '/').replace(/\/+$/, '') || '/';
    // PVE lets the login call through without credentials.
    const loginCall = Boolean(apiPath) && relPath === '/access/ticket' && (method === 'GET' || method === 'POST');
    const auth = req.headers.authorization
      ? authenticate(this.core.state, req.headers.authorization)
      : (this.core.tickets.verify(req.headers.cookie, header(req, 'csrfpreventiontoken'), method) ??
        (loginCall ? { caller: ANONYMOUS } : { failure: 'No ticket' }));
    if ('failure' in auth) {
      await this.sleep(this.options.authFailureDelayMs);
      return { status: 401, message: auth.failure, empty: true };
    }
    if (url.pathname.startsWith('/_sim/')) return this.handleAdmin(method, url.pathname, auth.caller, req.headers['content-type'], rawBody);
    if (!apiPath) return errorReply(new ApiError(501, 'no such uri\n'));

    const fault = this.core.faults.takeRequestFault(method, relPath);
    if (fault) {
      if (fault.delayMs) await this.sleep(fault.delayMs);
      if (fault.status !== undefined) return faultReply(fault.status, fault.message);
    }
    try {
      const match = this.router.match(method, relPath);
      if (!match) throw new ApiError(501, `Method '${method} ${relPath}' not implemented\n`);
      const { route, uriParams } = match;
      if (route.allowtoken === false && auth.caller.tokenid) {
        throw new ApiError(403, `URI '${relPath}' not available with API token, need proper ticket.\n`);
      }
      const params = this.mergeParams(uriParams, url.searchParams.toString(), req.headers['content-type'], rawBody);
      this.checkPermissions(route.permissions, auth.caller, params);
      this.proxyTo(route, params);
      const schema = this.core.schemas[schemaKey(route)];
      const shaped = shapeArrays(schema, params);
      const errors = this.core.validator.validate(schema, shaped);
      if (Object.keys(errors).length > 0) throw parameterError(errors);
      const result = await route.handle({ core: this.core, caller: auth.caller, params: shaped });
      if (result instanceof WithTotal) return { status: 200, body: { data: result.data, total: result.total } };
      return { status: 200, body: { data: result ?? null } };
    } catch (error) {
      return errorReply(error);
    }
  }

  private mergeParams(uriParams: Record<string, string>, query: string, contentType: string | undefined, body: string): Record<string, unknown> {
    let bodyParams: Record<string, unknown>;
    try {
      bodyParams = parseBody(contentType, body);
    } catch (e) {
      if (e instanceof BodyError) throw new ApiError(400, `${e.message}\n`);
      throw e;
    }
    const params: Record<string, unknown> = { ...bodyParams, ...decodeUrlencoded(query) };
    delete params._dc; // ExtJS cache buster, dropped by pveproxy
    for (const [key, value] of Object.entries(params)) {
      if (uriParams[key] !== undefined && String(value) !== uriParams[key]) {
        throw parameterError({ [key]: 'duplicate parameter (already defined in URI) with conflicting values!' });
      }
    }
    return { ...params, ...uriParams };
  }

  private checkPermissions(spec: PermissionSpec, caller: Caller, params: Record<string, unknown>): void {
    const { permissions } = this.core;
    if ('user' in spec) return;
    const fill = (path: string) => path.replace(/\{([^}]+)\}/g, (_m, name: string) => String(params[name] ?? ''));
    if ('perm' in spec) {
      permissions.check(caller, fill(spec.perm), spec.privs, spec.any);
      return;
    }
    permissions.check(caller, fill('/vms/{vmid}'), ['VM.Clone']);
    if (permissions.has(caller, fill('/vms/{newid}'), ['VM.Allocate'])) return;
    if (params.pool !== undefined && permissions.has(caller, fill('/pool/{pool}'), ['VM.Allocate'])) return;
    permissions.check(caller, fill('/vms/{newid}'), ['VM.Allocate']);
  }

  private proxyTo(route: Route, params: Record<string, unknown>): void {
    if (!route.proxyto) return;
    const name = String(params.node);
    const node = this.core.state.nodes.get(name);
    if (!node) throw failure(`hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`);
    if (!node.online) throw new ApiError(595, 'No route to host\n');
  }

  /** Fault injection and the remote-migration stand-in; outside /api2 on purpose. */
  private handleAdmin(method: string, path: string, caller: Caller, contentType: string | undefined, body: string): Reply {
    try {
      const params = parseBody(contentType ?? 'application/json', body);
      if (path === '/_sim/remote-import' && method === 'POST') return { status: 200, body: { data: this.remoteImport(caller, params) } };
      if (caller.userid !== 'root@pam') throw new PermissionDenied('/, Sys.Modify');
      if (path !== '/_sim/faults') throw new ApiError(501, `Method '${method} ${path}' not implemented\n`);
      const { faults } = this.core;
      if (method === 'GET') return { status: 200, body: { data: faults.describe() } };
      if (method === 'DELETE') {
        faults.clear();
        return { status: 200, body: { data: null } };
      }
      if (method !== 'POST') throw new ApiError(501, `Method '${method} ${path}' not implemented\n`);
      if (params.request) faults.addRequestFault(params.request as never);
      if (params.task) faults.addTaskFault(params.task as never);
      const storage = params.storage as { node: string; storage: string; full?: boolean } | undefined;
      if (storage) faults.setStorageFull(storage.node, storage.storage, storage.full ?? true);
      if (params.taskVisibilityDelayMs !== undefined) faults.taskVisibilityDelayMs = Number(params.taskVisibilityDelayMs);
      if (!params.request && !params.task && !storage && params.taskVisibilityDelayMs === undefined) {
        throw new ApiError(400, 'expected one of request, task, storage, taskVisibilityDelayMs\n');
      }
      return { status: 200, body: { data: faults.describe() } };
    } catch (error) {
      if (error instanceof Error && !(error instanceof ApiError) && !(error instanceof PermissionDenied)) {
        return errorReply(new ApiError(400, `${error.message}\n`));
      }
      return errorReply(error);
    }
  }

  /** Target side of the approximated remote migration (see handlers/migration.ts). */
  private remoteImport(caller: Caller, params: Record<string, unknown>): { node: string } {
    const { core } = this;
    const vmid = Number(params.vmid);
    const config = { ...(params.config as Record<string, string>) };
    const volumes = params.volumes as Array<{ key: string; volid: string; storage: string; size: number }>;
    core.permissions.check(caller, `/vms/${vmid}`, ['VM.Allocate']);
    for (const volume of volumes) core.permissions.check(caller, `/storage/${volume.storage}`, ['Datastore.AllocateSpace']);
    core.checkVmidUnused(vmid);
    const node = [...core.state.nodes.values()].find(n => n.online && volumes.every(v => core.state.storage(n.name, v.storage)));
    if (!node) throw failure(`no online node has storage '${volumes.map(v => v.storage).join(', ')}'`);
    const guest: SimGuest = { vmid, node: node.name, type: 'lxc', config, status: 'stopped', snapshots: [] };
    for (const volume of volumes) {
      const storage = core.state.storage(node.name, volume.storage)!;
      const newVolid = allocateDisk(core, storage, vmid, volume.size);
      config[volume.key] = config[volume.key].replace(volume.volid, newVolid);
    }
    if (params.start) {
      guest.status = 'running';
      guest.startedAt = core.clock.now();
    }
    core.state.addGuest(guest);
    return { node: node.name };
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request data too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorReply(error: unknown): Reply {
  if (error instanceof ApiError) {
    return {
      status: error.status,
      message: error.message,
      body: { data: null, message: error.message, ...(error.errors ? { errors: error.errors } : {}) },
      empty: error.status === 595 || error.status === 596,
    };
  }
  if (error instanceof PermissionDenied) {
    const message = `${error.message}\n`;
    return { status: 403, message, body: { data: null, message } };
  }
  const message = `${(error as Error).message.replace(/\n?$/, '\n')}`;
  return { status: 500, message, body: { data: null, message } };
}

function faultReply(status: number, message: string | undefined): Reply {
  if (status === 595 || status === 596) {
    return { status, message: message ?? (status === 595 ? 'Connection refused' : 'Broken pipe'), empty: true };
  }
  const text = `${message ?? http.STATUS_CODES[status] ?? 'error'}\n`;
  return { status, message: text, body: { data: null, message: text } };
}

function send(res: http.ServerResponse, reply: Reply): void {
  const now = new Date().toUTCString();
  const headers: Record<string, string> = {
    Server: 'pve-api-daemon/3.0',
    Date: now,
    Expires: now,
    'Cache-Control': 'max-age=0',
    Pragma: 'no-cache',
  };
  // The reason phrase is the message's first line (Node refuses control characters).
  const reason = (reply.message ?? http.STATUS_CODES[reply.status] ?? '').split('\n')[0].replace(/[^\t\x20-\x7e]/g, '?');
  if (reply.empty || reply.body === undefined) {
    headers['Content-Length'] = '0';
    res.writeHead(reply.status, reason, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  headers['Content-Type'] = 'application/json;charset=UTF-8';
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(reply.status, reason, headers);
  res.end(text);
}

