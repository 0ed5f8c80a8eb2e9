import { JobKind, JobStepDefinition } from './types';

const KIND_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;
const STEP_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * The job kinds one backend instance can run. Built at plugin init and injected (no module state), so
 * tests and other modules decide what is registered. Every instance sharing a database should register
 * the same kinds: a job of a kind an instance does not know fails there.
 */
export class JobKindRegistry {
  private readonly kinds = new Map<string, JobKind<any>>();

  constructor(kinds: Iterable<JobKind<any>> = []) {
    for (const kind of kinds) this.register(kind);
  }

  register<TParams>(kind: JobKind<TParams>): void {
    validateKind(kind);
    if (this.kinds.has(kind.kind)) throw new Error(`Job kind ${kind.kind} is already registered`);
    this.kinds.set(kind.kind, kind);
  }

  get(kind: string): JobKind<any> | undefined {
    return this.kinds.get(kind);
  }

  list(): JobKind<any>[] {
    return [...this.kinds.values()];
  }
}

function validateKind(kind: JobKind<any>) {
  if (!KIND_NAME.test(kind.kind)) throw new Error(`Invalid job kind name "${kind.kind}"`);
  if (kind.steps.length === 0) throw new Error(`Job kind ${kind.kind} has no steps`);
  const seen = new Set<string>();
  for (const step of kind.steps) {
    if (!STEP_NAME.test(step.name)) throw new Error(`Invalid step name "${step.name}" in ${kind.kind}`);
    if (seen.has(step.name)) throw new Error(`Duplicate step "${step.name}" in ${kind.kind}`);
    seen.add(step.name);
    if (isRunStep(step) && step.pointOfNoReturn && !step.reconcile) {
      throw new Error(
        `Step ${kind.kind}/${step.name} is a point of no return and needs reconcile(), ` +
          'so a crash during it never leads to running it twice blindly',
      );
    }
  }
}

export function isRunStep<TParams>(
  step: JobStepDefinition<TParams>,
): step is Exclude<JobStepDefinition<TParams>, { approvalGate: true }> {
  return step.approvalGate !== true;
}
