import { mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { MemoryCheckpointStore } from './checkpointStore';

/**
 * A mock action context whose checkpoints live in `store` (so a second run replays the first's), with a step id,
 * dry-run flag and abort signal; createMockActionContext keeps none of those from its options.
 */
export function actionContext<TInput>(
  input: TInput,
  store: MemoryCheckpointStore,
  options: { taskId?: string; stepId?: string; isDryRun?: boolean; signal?: AbortSignal } = {},
) {
  const logger = mockServices.logger.mock();
  const base = createMockActionContext({ input: input as any, task: { id: options.taskId ?? 'task-1' }, logger });
  return {
    ...base,
    logger,
    checkpoint: store.checkpoint as typeof base.checkpoint,
    step: { id: options.stepId ?? 'step', name: 'step' },
    isDryRun: options.isDryRun,
    signal: options.signal,
  };
}

/** The values a handler passed to ctx.output, by name. */
export function outputsOf(ctx: { output: unknown }): Record<string, any> {
  return Object.fromEntries((ctx.output as jest.Mock).mock.calls);
}
