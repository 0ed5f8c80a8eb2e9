import { Caller } from '../access/permissions';
import { Clock } from '../clock';
import { FaultInjector, TaskOutcomeOverride } from '../faults';
import { ClusterState } from '../state/cluster';
import { taskDuration } from './durations';
import { formatUpid } from './upid';

export interface TaskResult {
  /** Extra log lines written at the end. */
  log?: string[];
  /** Each becomes a `WARN: ...` line; the exit status is then `WARNINGS: n`. */
  warnings?: string[];
}

export interface TaskSpec {
  node: string;
  type: string;
  /** Usually the vmid; empty for node-wide tasks. */
  id: string;
  caller: Caller;
  /** Lines logged when the task starts. */
  startLog?: string[];
  /** Runs when the task's time is up; throwing fails the task with the error's message. */
  finish: () => TaskResult | void | Promise<TaskResult | void>;
  /** Undo what the start did (locks...) when the task fails or is stopped. */
  rollback?: () => void;
  /** Overrides the type's duration (milliseconds at speed 1). */
  durationMs?: number;
}

export interface SimTask {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  tokenid?: string;
  status: 'running' | 'stopped';
  /** Clock time the task started (ms). */
  startedAtMs: number;
  exitstatus?: string;
  endtime?: number;
  log: string[];
  cancel?: () => void;
  spec: TaskSpec;
}

/**
 * Runs simulated worker tasks: each gets a UPID at once and finishes after its
 * duration (divided by the speed factor) on the injected clock.
 */
export class TaskManager {
  private readonly tasks = new Map<string, SimTask>();
  private readonly byNode = new Map<string, SimTask[]>();

  constructor(
    private readonly state: ClusterState,
    private readonly clock: Clock,
    private readonly faults: FaultInjector,
    private readonly speed: number,
  ) {}

  start(spec: TaskSpec): SimTask {
    const node = this.state.nodes.get(spec.node)!;
    const now = this.clock.now();
    const pid = node.nextPid++;
    const task: SimTask = {
      upid: '',
      node: spec.node,
      pid,
      pstart: Math.floor((now - node.bootedAt) / 10),
      starttime: Math.floor(now / 1000),
      type: spec.type,
      id: spec.id,
      user: spec.caller.fullId,
      tokenid: spec.caller.tokenid,
      status: 'running',
      startedAtMs: now,
      log: [...(spec.startLog ?? [])],
      spec,
    };
    task.upid = formatUpid({ ...task, user: spec.caller.fullId });
    this.tasks.set(task.upid, task);
    if (!this.byNode.has(spec.node)) this.byNode.set(spec.node, []);
    this.byNode.get(spec.node)!.push(task);
    const duration = (spec.durationMs ?? taskDuration(spec.type, 1)) / this.speed;
    task.cancel = this.clock.setTimer(duration, () => this.complete(task));
    return task;
  }

  get(upid: string): SimTask | undefined {
    return this.tasks.get(upid);
  }

  listForNode(node: string): SimTask[] {
    return this.byNode.get(node) ?? [];
  }

  /** DELETE /nodes/{node}/tasks/{upid}: the worker is killed. */
  stop(task: SimTask): void {
    if (task.status !== 'running') return;
    task.cancel?.();
    task.spec.rollback?.();
    this.end(task, 'interrupted by signal', ['received interrupt']);
  }

  private complete(task: SimTask): void {
    if (task.status !== 'running') return;
    const override = this.faults.takeTaskOutcome(task.type, task.id);
    if (override?.error !== undefined) {
      task.spec.rollback?.();
      this.end(task, override.error, []);
      return;
    }
    let result: TaskResult | void | Promise<TaskResult | void>;
    try {
      result = task.spec.finish();
    } catch (e) {
      this.fail(task, e);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        value => this.succeed(task, value, override),
        error => this.fail(task, error),
      );
      return;
    }
    this.succeed(task, result, override);
  }

  private fail(task: SimTask, error: unknown): void {
    if (task.status !== 'running') return;
    task.spec.rollback?.();
    const log = (error as Error & { log?: string[] }).log ?? [];
    this.end(task, (error as Error).message.replace(/\n$/, ''), log);
  }

  private succeed(task: SimTask, result: TaskResult | void, override: TaskOutcomeOverride | undefined): void {
    if (task.status !== 'running') return;
    const warnings = [...(result?.warnings ?? [])];
    for (let i = warnings.length; i < (override?.warnings ?? 0); i++) warnings.push(`injected warning ${i + 1}`);
    const lines = [...(result?.log ?? []), ...warnings.map(w => `WARN: ${w}`)];
    this.end(task, warnings.length > 0 ? `WARNINGS: ${warnings.length}` : 'OK', lines);
  }

  private end(task: SimTask, exitstatus: string, lines: string[]): void {
    task.log.push(...lines);
    if (exitstatus === 'OK') task.log.push('TASK OK');
    else if (/^WARNINGS: \d+$/.test(exitstatus)) task.log.push(`TASK ${exitstatus}`);
    else task.log.push(`TASK ERROR: ${exitstatus}`);
    task.status = 'stopped';
    task.exitstatus = exitstatus;
    task.endtime = Math.floor(this.clock.now() / 1000);
  }
}
