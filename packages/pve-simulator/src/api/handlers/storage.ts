import { splitList } from '../../schema/formats';
import { StorageContent } from '../../state/model';
import { failure } from '../errors';
import { flagParam, intParam, Route, strParam } from '../route';
import { storageFigures } from './usage';

export const storageRoutes: Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/storage',
    permissions: { user: 'all' },
    proxyto: true,
    handle: ({ core, caller, params }) => {
      const content = strParam(params, 'content');
      const wanted = content ? (splitList(content) as StorageContent[]) : undefined;
      const only = strParam(params, 'storage');
      const onlyEnabled = flagParam(params, 'enabled');
      return core.state
        .storagesOf(String(params.node))
        .filter(s => !only || s.id === only)
        .filter(s => !onlyEnabled || s.enabled)
        .filter(s => !wanted || wanted.some(c => s.content.includes(c)))
        .filter(s => core.permissions.has(caller, `/storage/${s.id}`, ['Datastore.Audit', 'Datastore.AllocateSpace'], true))
        .map(s => {
          const figures = storageFigures(s);
          return {
            storage: s.id,
            type: s.type,
            content: s.content.join(','),
            active: 1,
            enabled: s.enabled ? 1 : 0,
            shared: s.shared ? 1 : 0,
            ...figures,
            used_fraction: figures.total ? figures.used / figures.total : 0,
          };
        });
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}/status',
    permissions: { perm: '/storage/{storage}', privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true },
    proxyto: true,
    handle: ({ core, params }) => {
      const storage = core.state.storage(String(params.node), String(params.storage));
      if (!storage) throw failure(`storage '${params.storage}' does not exist`);
      return {
        type: storage.type,
        content: storage.content.join(','),
        active: 1,
        enabled: storage.enabled ? 1 : 0,
        shared: storage.shared ? 1 : 0,
        ...storageFigures(storage),
      };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/storage/{storage}/content',
    permissions: { perm: '/storage/{storage}', privs: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true },
    proxyto: true,
    handle: ({ core, params }) => {
      const storage = core.state.storage(String(params.node), String(params.storage));
      if (!storage) throw failure(`storage '${params.storage}' does not exist`);
      const content = strParam(params, 'content');
      const vmid = intParam(params, 'vmid');
      return [...storage.volumes.values()]
        .filter(v => !content || v.content === content)
        .filter(v => vmid === undefined || v.vmid === vmid)
        .sort((a, b) => a.volid.localeCompare(b.volid))
        .map(v => ({
          volid: v.volid,
          content: v.content,
          format: v.format,
          size: v.size,
          ctime: v.ctime,
          ...(v.vmid !== undefined ? { vmid: v.vmid } : {}),
          ...(v.content === 'rootdir' || v.content === 'images' ? { used: Math.floor(v.size * 0.3) } : {}),
          ...(v.content === 'backup' ? { subtype: 'lxc', notes: v.notes ?? '', protected: v.protected ? 1 : 0 } : {}),
        }));
    },
  },
];
