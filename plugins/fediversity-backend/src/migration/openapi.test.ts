import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createDecommissionRouter } from './decommissionRouter';
import { createMigrationRouter } from './router';

/** The routes an express router serves, as `method /path` with path parameters in `{name}` form. */
function served(router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> }): string[] {
  return router.stack.flatMap(layer =>
    layer.route
      ? Object.keys(layer.route.methods).map(method => `${method} ${layer.route!.path.replace(/:(\w+)/g, '{id}')}`)
      : [],
  );
}

it('documents exactly the migration routes it serves (openapi.yaml)', () => {
  const spec = parseYaml(readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8'));
  const documented = Object.entries(spec.paths as Record<string, object>)
    .filter(([path]) => path.startsWith('/migrations'))
    .flatMap(([path, operations]) => Object.keys(operations).filter(key => key !== 'parameters').map(method => `${method} ${path}`));
  // The routers only keep their options for the handlers, so building them needs none.
  const routes = [...served(createMigrationRouter({} as any) as any), ...served(createDecommissionRouter({} as any) as any)];
  expect(documented.sort()).toEqual(routes.sort());
});
