import { SimTask } from '../../tasks/taskManager';
import { parseUpid } from '../../tasks/upid';
import { splitList } from '../../schema/formats';
import { failure, parameterError } from '../errors';
import { flagParam, intParam, RequestContext, Route, strParam, WithTotal } from '../route';

function taskUser(task: SimTask): { user: string; tokenid?: string } {
  const [user, tokenid] = task.user.split('!');
  return tokenid ? { user, tokenid } : { user };
}

function findTask({ core, caller, params }: RequestContext): SimTask {
  const upid = String(params.upid);
  const fields = parseUpid(upid);
  if (!fields) throw failure(`unable to parse worker upid '${upid}'`);
  const task = core.tasks.get(upid);
  const visible = task && core.clock.now() - task.startedAtMs >= core.faults.taskVisibilityDelayMs;
  if (!task || !visible || task.node !== params.node) throw parameterError({ upid: 'no such task' });
  if (task.user !== caller.fullId) core.permissions.check(caller, `/nodes/${task.node}`, ['Sys.Audit']);
  return task;
}

function statusCategory(task: SimTask): 'ok' | 'warning' | 'error' | 'unknown' {
  if (task.exitstatus === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(task.exitstatus ?? '')) return 'warning';
  return task.exitstatus ? 'error' : 'unknown';
}

/** `source` of the task list: running tasks (`active`), ended ones (`archive`) or both (`all`). */
function inSource(task: SimTask, source: string): boolean {
  if (source === 'active') return task.status === 'running';
  if (source === 'archive') return task.status === 'stopped';
  return true;
}

export const taskRoutes: Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    permissions: { user: 'all' },
    proxyto: true,
    handle: ({ core, caller, params }) => {
      const source = strParam(params, 'source') ?? 'archive';
      const vmid = intParam(params, 'vmid');
      const typefilter = strParam(params, 'typefilter');
      const userfilter = strParam(params, 'userfilter');
      const statuses = params.statusfilter !== undefined ? splitList(String(params.statusfilter)).map(s => s.toLowerCase()) : undefined;
      const since = intParam(params, 'since');
      const until = intParam(params, 'until');
      const start = intParam(params, 'start') ?? 0;
      const limit = intParam(params, 'limit') ?? 50;
      const mayAudit = core.permissions.has(caller, `/nodes/${params.node}`, ['Sys.Audit']);
      const matching = core.tasks
        .listForNode(String(params.node))
        .filter(t => mayAudit || t.user === caller.fullId)
        .filter(t => inSource(t, source))
        .filter(t => vmid === undefined || t.id === String(vmid))
        .filter(t => !typefilter || t.type === typefilter)
        .filter(t => !userfilter || t.user.includes(userfilter))
        .filter(t => !flagParam(params, 'errors') || statusCategory(t) === 'error')
        .filter(t => !statuses || statuses.includes(statusCategory(t)))
        .filter(t => since === undefined || t.starttime >= since)
        .filter(t => until === undefined || t.starttime <= until)
        .sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
      return matching.slice(start, start + limit).map(t => ({
        upid: t.upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.type,
        id: t.id,
        ...taskUser(t),
        ...(t.status === 'stopped' ? { status: t.exitstatus, endtime: t.endtime } : {}),
      }));
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/status',
    permissions: { user: 'all' },
    proxyto: true,
    handle: ctx => {
      const task = findTask(ctx);
      return {
        upid: task.upid,
        node: task.node,
        pid: task.pid,
        pstart: task.pstart,
        starttime: task.starttime,
        type: task.type,
        id: task.id,
        ...taskUser(task),
        status: task.status,
        ...(task.status === 'stopped' ? { exitstatus: task.exitstatus } : {}),
      };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    permissions: { user: 'all' },
    proxyto: true,
    handle: ctx => {
      const task = findTask(ctx);
      const start = intParam(ctx.params, 'start') ?? 0;
      const limit = intParam(ctx.params, 'limit') ?? 50;
      const lines = task.log.length > 0 ? task.log : ['no content'];
      const page = lines.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
      return new WithTotal(page, lines.length);
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/tasks/{upid}',
    permissions: { user: 'all' },
    proxyto: true,
    handle: ctx => {
      const task = findTask(ctx);
      if (task.user !== ctx.caller.fullId) ctx.core.permissions.check(ctx.caller, `/nodes/${task.node}`, ['Sys.Modify']);
      ctx.core.tasks.stop(task);
      return null;
    },
  },
];
