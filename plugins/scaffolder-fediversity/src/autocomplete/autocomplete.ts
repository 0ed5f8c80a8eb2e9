import { InputError } from '@backstage/errors';
import { PveClustersService } from '@fediversity/plugin-fediversity-node';
import { listGuestStorages, listNodesByFreeMemory, listTemplates } from '../lib/placement';

const GIB = 1024 ** 3;

/**
 * Dynamic form options from live cluster data, for the scaffolder's autocomplete endpoint
 * (`/api/scaffolder/v2/autocomplete/fediversity/<resource>`): `clusters`, `nodes` (with free memory), `storages`
 * (of `context.node`, with free space) and `templates` (of `context.node`).
 */
export function createAutocompleteHandler(clusters: PveClustersService) {
  return async ({ resource, context }: { resource: string; token: string; context: Record<string, string> }) => {
    if (resource === 'clusters') {
      return { results: clusters.list().map(cluster => ({ id: cluster.name, title: cluster.demo ? `${cluster.name} (demo)` : cluster.name })) };
    }
    const cluster = context.cluster ? clusters.get(context.cluster) : clusters.list()[0];
    if (!cluster) return { results: [] };
    const { client } = cluster;
    switch (resource) {
      case 'nodes': {
        const nodes = await listNodesByFreeMemory(client);
        return {
          results: nodes.map(node => ({
            id: node.node,
            title: `${node.node} (${(((node.maxmem ?? 0) - (node.mem ?? 0)) / GIB).toFixed(0)} GiB memory free)`,
          })),
        };
      }
      case 'storages': {
        const node = requireNode(context);
        const storages = await listGuestStorages(client, node);
        return {
          results: storages.map(storage => ({
            id: storage.storage,
            title: `${storage.storage} (${((storage.avail ?? 0) / GIB).toFixed(0)} GiB free, ${storage.type})`,
          })),
        };
      }
      case 'templates': {
        const templates = await listTemplates(client, requireNode(context));
        return { results: templates.map(volid => ({ id: volid, title: volid.split('/').pop() })) };
      }
      default:
        throw new InputError(`Unknown autocomplete resource ${resource} (clusters, nodes, storages, templates)`);
    }
  };
}

function requireNode(context: Record<string, string>): string {
  if (!context.node) throw new InputError('context.node is required: pick a node first');
  return context.node;
}
