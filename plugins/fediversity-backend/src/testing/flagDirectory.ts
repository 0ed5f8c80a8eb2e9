import { existsSync, FSWatcher, mkdirSync, watch } from 'node:fs';
import { join } from 'node:path';

/**
 * The test app's flag files (`quiesced`, `started`, …) in one directory, waited for without polling: inotify
 * (fs.watch) wakes a waiter when the directory changes. A poll every 2 ms cost the app's process a wake-up
 * 500 times a second, on the same two cores as the migration it measures, and up to 2 ms to notice.
 */
export class FlagDirectory {
  private readonly watcher: FSWatcher;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly directory: string) {
    mkdirSync(directory, { recursive: true });
    const wakeAll = () => this.waiters.forEach(wake => wake());
    // A watch that fails (the directory removed) wakes everyone to look for themselves.
    this.watcher = watch(directory, wakeAll).on('error', wakeAll);
  }

  has(flag: string): boolean {
    return existsSync(join(this.directory, flag));
  }

  /** Resolves when `flag` exists (true), or false after `timeoutMs` or on `signal`. */
  waitFor(flag: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    return this.waitUntil(() => this.has(flag), options);
  }

  /** Resolves at the directory's next change (true), or false after `timeoutMs` or on `signal`. */
  nextChange(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    let changed = false;
    return this.waitUntil(() => changed, options, () => (changed = true));
  }

  close(): void {
    this.waiters.clear();
    this.watcher.close();
  }

  private waitUntil(
    done: () => boolean,
    options: { timeoutMs?: number; signal?: AbortSignal },
    onChange?: () => void,
  ): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    const waiters = this.waiters;
    // Events come on a later tick than this check, so a flag raised in between still wakes the waiter.
    return new Promise(resolve => {
      const check = () => {
        onChange?.();
        if (done()) finish();
      };
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(finish, options.timeoutMs);
      function finish() {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', finish);
        waiters.delete(check);
        resolve(done());
      }
      options.signal?.addEventListener('abort', finish, { once: true });
      waiters.add(check);
    });
  }
}
