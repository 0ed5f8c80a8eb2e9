import { ClusterState } from './state/cluster';

/**
 * Fault injection for tests: request faults (the next N matching requests get a
 * status and/or a delay), task faults (tasks of a type fail or end with warnings),
 * and full storages. Driven programmatically (`sim.faults`) or over HTTP (`/_sim/faults`).
 */
export interface RequestFaultSpec {
  /** GET, POST...; any when absent. */
  method?: string;
  /** Path below /api2/json; `*` matches one segment, `**` anything. */
  path: string;
  /** 500, 595, 596, 503...; absent = answer normally (after `delayMs`). */
  status?: number;
  /** Reason phrase / message; PVE's defaults when absent. */
  message?: string;
  delayMs?: number;
  /** How many matching requests it hits (default 1). */
  count?: number;
}

export interface TaskFaultSpec {
  /** Task type, e.g. vzcreate. */
  type: string;
  /** Only tasks with this id (usually the vmid). */
  id?: string;
  /** Fail the task with this exit status text. */
  error?: string;
  /** End the task OK but with this many warnings. */
  warnings?: number;
  /** How many tasks it hits (default: all until cleared). */
  count?: number;
}

interface ActiveRequestFault extends RequestFaultSpec {
  remaining: number;
  matcher: RegExp;
}

interface ActiveTaskFault extends TaskFaultSpec {
  remaining: number;
}

export interface TaskOutcomeOverride {
  error?: string;
  warnings?: number;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .split('**')
    .map(part => part.split('*').map(s => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

export class FaultInjector {
  private requestFaults: ActiveRequestFault[] = [];
  private taskFaults: ActiveTaskFault[] = [];
  /** New tasks answer `no such task` this long (clock ms), as a UPID polled at once may on PVE. */
  taskVisibilityDelayMs = 0;

  constructor(private readonly state: ClusterState) {}

  addRequestFault(spec: RequestFaultSpec): void {
    if (!spec.path) throw new Error('request fault needs a path');
    this.requestFaults.push({ ...spec, remaining: spec.count ?? 1, matcher: globToRegExp(spec.path) });
  }

  addTaskFault(spec: TaskFaultSpec): void {
    if (!spec.type) throw new Error('task fault needs a type');
    if (spec.error === undefined && spec.warnings === undefined) throw new Error('task fault needs error or warnings');
    this.taskFaults.push({ ...spec, remaining: spec.count ?? Infinity });
  }

  setStorageFull(node: string, storage: string, full = true): void {
    const target = this.state.storage(node, storage);
    if (!target) throw new Error(`no storage '${storage}' on node '${node}'`);
    target.full = full;
  }

  clear(): void {
    this.requestFaults = [];
    this.taskFaults = [];
    this.taskVisibilityDelayMs = 0;
    for (const storage of this.state.storages.values()) storage.full = false;
  }

  /** Takes (consumes one use of) the first fault matching this request. */
  takeRequestFault(method: string, path: string): RequestFaultSpec | undefined {
    const fault = this.requestFaults.find(f => (!f.method || f.method.toUpperCase() === method) && f.matcher.test(path));
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.requestFaults = this.requestFaults.filter(f => f !== fault);
    return fault;
  }

  takeTaskOutcome(type: string, id: string): TaskOutcomeOverride | undefined {
    const fault = this.taskFaults.find(f => f.type === type && (f.id === undefined || f.id === id));
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.taskFaults = this.taskFaults.filter(f => f !== fault);
    return { error: fault.error, warnings: fault.warnings };
  }

  describe() {
    return {
      taskVisibilityDelayMs: this.taskVisibilityDelayMs,
      requests: this.requestFaults.map(({ matcher: _m, remaining, ...spec }) => ({ ...spec, count: remaining })),
      tasks: this.taskFaults.map(({ remaining, ...spec }) => ({ ...spec, count: Number.isFinite(remaining) ? remaining : undefined })),
      fullStorages: [...this.state.storages.values()].filter(s => s.full).map(s => `${s.node}/${s.id}`),
    };
  }
}
