import { clusterRoutes } from './handlers/cluster';
import { lxcRoutes } from './handlers/lxc';
import { migrationRoutes } from './handlers/migration';
import { powerRoutes } from './handlers/power';
import { snapshotRoutes } from './handlers/snapshots';
import { storageRoutes } from './handlers/storage';
import { taskRoutes } from './handlers/tasks';
import { vzdumpRoutes } from './handlers/vzdump';
import { Route } from './route';

/** Every API method the simulator implements. */
export function allRoutes(): Route[] {
  return [
    ...clusterRoutes,
    ...storageRoutes,
    ...lxcRoutes,
    ...powerRoutes,
    ...snapshotRoutes,
    ...migrationRoutes,
    ...vzdumpRoutes,
    ...taskRoutes,
  ];
}

export interface RouteMatch {
  route: Route;
  uriParams: Record<string, string>;
}

/** Matches `/nodes/pve-a/lxc/100` against the templates; `{x}` takes one segment. */
export class Router {
  private readonly compiled: Array<{ route: Route; segments: string[] }>;

  constructor(routes: Route[]) {
    this.compiled = routes.map(route => ({ route, segments: route.path.split('/').filter(Boolean) }));
  }

  match(method: string, path: string): RouteMatch | undefined {
    const parts = path.split('/').filter(Boolean);
    for (const { route, segments } of this.compiled) {
      if (route.method !== method || segments.length !== parts.length) continue;
      const uriParams: Record<string, string> = {};
      const ok = segments.every((segment, i) => {
        const name = /^\{(.+)\}$/.exec(segment)?.[1];
        if (name) {
          uriParams[name] = decodeURIComponent(parts[i]);
          return true;
        }
        return segment === parts[i];
      });
      if (ok) return { route, uriParams };
    }
    return undefined;
  }
}
