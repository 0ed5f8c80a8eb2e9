import { JsonValue } from '@backstage/types';

/** The part of the action context this module needs. */
export interface CheckpointContext {
  checkpoint<T extends JsonValue | void>(options: { key: string; fn: () => Promise<T> | T }): Promise<T>;
}

class NotRecorded extends Error {
  constructor(key: string) {
    super(`checkpoint ${key} holds no value yet`);
  }
}

/**
 * A value an earlier run recorded under `key`, or undefined. Checkpoints only return what they hold, so this
 * asks with a function that fails: the failure is recorded (a later success under the key replaces it) and
 * means "nothing recorded".
 */
export async function readCheckpoint<T extends JsonValue>(
  ctx: CheckpointContext,
  key: string,
): Promise<T | undefined> {
  try {
    return await ctx.checkpoint<T>({
      key,
      fn: () => {
        throw new NotRecorded(key);
      },
    });
  } catch (error) {
    if (error instanceof NotRecorded) return undefined;
    throw error;
  }
}

/** Records `value` under `key` (once: an earlier value under the key wins and is returned). */
export function recordCheckpoint<T extends JsonValue>(ctx: CheckpointContext, key: string, value: T): Promise<T> {
  return ctx.checkpoint<T>({ key, fn: async () => value });
}
