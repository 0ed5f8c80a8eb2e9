import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { staticPveClustersServiceFactory } from '@fediversity/plugin-fediversity-node';
import express from 'express';
import Router from 'express-promise-router';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as exported from './index';
import { closingDatabaseServiceFactory } from './testUtils';

jest.setTimeout(60_000);

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Backstage's own routes in every plugin (the permission framework's integration router), not this plugin's API. */
const BACKSTAGE_ROUTE = /^\w+ \/\.well-known\/backstage\//;
/** What a path item of openapi.yaml may hold besides its operations. */
const PATH_ITEM_FIELDS = ['parameters', 'summary', 'description', 'servers'];

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: unknown;
  regexp: RegExp & { fast_slash?: boolean };
  keys: Array<{ name: string }>;
}

/**
 * The routes an express router serves, as `method /path` with path parameters in OpenAPI's `{name}` form,
 * descending into the routers mounted in it (with their mount path). Anything it cannot read exactly (a regexp
 * route, `router.all`, a mount path with patterns) fails the test rather than being guessed.
 */
function served(handler: unknown, prefix = ''): string[] {
  const stack = (handler as { stack?: Layer[] }).stack;
  if (!Array.isArray(stack)) return []; // plain middleware: express.json(), an error handler
  return stack.flatMap(layer => {
    if (!layer.route) return served(layer.handle, prefix + mountPath(layer));
    const { path, methods } = layer.route;
    if (typeof path !== 'string') throw new Error(`served(): route path ${String(path)} is not a plain string`);
    if (!/^(\/(:\w+|[\w.-]+))+$/.test(path)) throw new Error(`served(): route path ${path} is not plain segments and :params`);
    return Object.keys(methods).map(method => {
      if (!HTTP_METHODS.includes(method)) throw new Error(`served(): ${method} ${path} is not one HTTP method`);
      return `${method} ${prefix}${path.replace(/:(\w+)/g, '{$1}')}`;
    });
  });
}

/** Where `router.use([path], handler)` mounted a layer, from the regexp express 4 built of the path. */
function mountPath(layer: Layer): string {
  if (layer.regexp.fast_slash) return '';
  const body = /^\^(.*)\\\/\?\(\?=\\\/\|\$\)$/.exec(layer.regexp.source)?.[1];
  let param = 0;
  const path = body
    ?.replace(/\(\?:\\\/\(\[\^\/\]\+\?\)\)/g, () => `\\/{${layer.keys[param++]?.name}}`)
    .replace(/\\([/.])/g, '$1');
  if (!path || !/^(\/(\{\w+\}|[\w.-]+))+$/.test(path)) {
    throw new Error(`served(): cannot read the mount path of ${layer.regexp}`);
  }
  return path;
}

/** The operations openapi.yaml documents, as `method /path`, and those it documents as needing no token. */
function documented() {
  const spec = parseYaml(readFileSync(join(__dirname, '..', 'openapi.yaml'), 'utf8'));
  const operations = Object.entries(spec.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(
    ([path, item]) =>
      Object.entries(item)
        .filter(([key]) => !PATH_ITEM_FIELDS.includes(key))
        .map(([method, operation]) => {
          if (!HTTP_METHODS.includes(method)) throw new Error(`openapi.yaml: ${path} has ${method}, no HTTP method`);
          return { route: `${method} ${path}`, unauthenticated: operation.security?.length === 0 };
        }),
  );
  return {
    routes: operations.map(operation => operation.route),
    unauthenticated: operations.filter(operation => operation.unauthenticated).map(operation => operation.route),
  };
}

/** The plugin and every module of it the package exports: all that can mount routes under /api/fediversity. */
const pluginFeatures = Object.values(exported).filter(feature => {
  const registrations = (feature as { getRegistrations?: () => Array<{ pluginId?: string }> }).getRegistrations?.();
  return registrations?.some(registration => registration.pluginId === 'fediversity');
});

describe('openapi.yaml', () => {
  const httpRouter = mockServices.httpRouter.mock();
  let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;

  beforeAll(async () => {
    backend = await startTestBackend({
      features: [
        ...(pluginFeatures as Parameters<typeof startTestBackend>[0]['features'] & unknown[]),
        httpRouter.factory,
        closingDatabaseServiceFactory,
        staticPveClustersServiceFactory([]),
        mockServices.rootConfig.factory({ data: { fediversity: { allowInMemoryDatabase: true } } }),
      ],
    });
  });

  afterAll(() => backend?.stop());

  it('is checked against the plugin and all its modules', () => {
    expect(pluginFeatures).toEqual(
      expect.arrayContaining([
        exported.default,
        exported.fediversityModuleInstances,
        exported.fediversityModuleGuests,
        exported.fediversityModuleReplication,
        exported.fediversityModuleMigration,
      ]),
    );
  });

  it('documents exactly the routes the plugin serves, method by method', () => {
    // Every router goes to the plugin's httpRouter, which serves it at the plugin's root (/api/fediversity).
    const all = httpRouter.use.mock.calls.flatMap(([router]) => served(router));
    expect(all.filter(route => BACKSTAGE_ROUTE.test(route)).sort()).toEqual([
      'get /.well-known/backstage/permissions/metadata',
      'post /.well-known/backstage/permissions/apply-conditions',
    ]);
    const routes = all.filter(route => !BACKSTAGE_ROUTE.test(route));
    const docs = documented().routes;
    expect(routes.length).toBeGreaterThan(0);
    expect(routes.filter((route, index) => routes.indexOf(route) !== index)).toEqual([]); // served twice
    expect({
      servedButNotDocumented: routes.filter(route => !docs.includes(route)).sort(),
      documentedButNotServed: docs.filter(route => !routes.includes(route)).sort(),
    }).toEqual({ servedButNotDocumented: [], documentedButNotServed: [] });
  });

  it('documents as open (security: []) exactly the paths the plugin lets in without a token', () => {
    const open = httpRouter.addAuthPolicy.mock.calls
      .filter(([policy]) => policy.allow === 'unauthenticated')
      .map(([policy]) => policy.path);
    expect(documented().unauthenticated.map(route => route.split(' ')[1]).sort()).toEqual(open.sort());
  });
});

describe('served', () => {
  it('reads routes, nested routers and their mount paths', () => {
    const inner = Router();
    inner.get('/things/:thingId', (_req, res) => res.end());
    inner.delete('/things/:thingId', (_req, res) => res.end());
    const outer = Router();
    outer.use(express.json());
    outer.post('/top', (_req, res) => res.end());
    outer.use(inner);
    outer.use('/under/:id', inner);
    expect(served(outer)).toEqual([
      'post /top',
      'get /things/{thingId}',
      'delete /things/{thingId}',
      'get /under/{id}/things/{thingId}',
      'delete /under/{id}/things/{thingId}',
    ]);
  });

  it('refuses what it cannot read exactly', () => {
    const regexpRoute = Router();
    regexpRoute.get(/^\/any/, (_req, res) => res.end());
    expect(() => served(regexpRoute)).toThrow(/not a plain string/);
    const all = Router();
    all.all('/x', (_req, res) => res.end());
    expect(() => served(all)).toThrow(/not one HTTP method/);
  });
});
