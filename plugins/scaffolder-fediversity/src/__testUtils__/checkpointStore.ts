import { JsonValue } from '@backstage/types';

type CheckpointState = { status: 'success'; value: JsonValue } | { status: 'failed'; reason: string };

/**
 * Checkpoints that survive a "crash": the semantics of the scaffolder's task state (a recorded success is
 * returned without running fn, a failure is recorded and fn runs again, undefined is stored as {}), kept in a
 * Map that outlives the handler invocation, so a test can run a handler, kill it midway, and run it again.
 */
export class MemoryCheckpointStore {
  readonly states = new Map<string, CheckpointState>();
  /** How often each key's fn actually ran. */
  readonly runs = new Map<string, number>();

  checkpoint = async <T extends JsonValue | void>({ key, fn }: { key: string; fn: () => Promise<T> | T }): Promise<T> => {
    const previous = this.states.get(key);
    if (previous?.status === 'success') return previous.value as T;
    this.runs.set(key, (this.runs.get(key) ?? 0) + 1);
    try {
      const value = await fn();
      this.states.set(key, { status: 'success', value: (value ?? {}) as JsonValue });
      return value;
    } catch (error) {
      this.states.set(key, { status: 'failed', reason: String(error) });
      throw error;
    }
  };

  successKeys(): string[] {
    return [...this.states].filter(([, state]) => state.status === 'success').map(([key]) => key);
  }
}
