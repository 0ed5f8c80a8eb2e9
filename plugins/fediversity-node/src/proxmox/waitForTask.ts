import { Clock, systemClock } from './clock';
import { PveError, PveTaskError, PveTaskTimeoutError } from './PveError';
import { TaskLogLine, TaskResult, TaskStatus } from './types';
import { PveResponse } from './transport';

/** The two task calls waitForTask needs (PveClient provides them). */
export interface PveTaskApi {
  getTaskStatus(upid: string, options?: { signal?: AbortSignal }): Promise<TaskStatus>;
  getTaskLogPage(
    upid: string,
    page: { start: number; limit: number },
    options?: { signal?: AbortSignal },
  ): Promise<PveResponse<TaskLogLine[]>>;
}

export interface WaitForTaskOptions {
  /** Give up (throwing PveTaskTimeoutError; the task keeps running) after this long. Default 10 minutes. */
  timeoutMs?: number;
  /** First poll interval; grows by half each poll up to maxIntervalMs. */
  initialIntervalMs?: number;
  maxIntervalMs?: number;
  /** A fresh task may briefly be unknown (`no such task`); keep asking this long. */
  unknownTaskGraceMs?: number;
  /** Log lines reported with a failure. */
  logTailLines?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

const WARNINGS = /^WARNINGS: (\d+)$/;

/** PVE's own rule: an exit status is an error unless it is `OK` or `WARNINGS: n`. */
export function parseExitStatus(exitstatus: string): { ok: boolean; warnings: number } {
  if (exitstatus === 'OK') return { ok: true, warnings: 0 };
  const match = WARNINGS.exec(exitstatus);
  if (match) return { ok: true, warnings: Number(match[1]) };
  return { ok: false, warnings: 0 };
}

/**
 * Polls a task until it stops. Resolves for `OK` and `WARNINGS: n`; rejects with PveTaskError (exit status and
 * the log's tail) for anything else, PveTaskTimeoutError after the deadline, or the signal's reason when aborted.
 * Aborting or timing out only stops the waiting, never the task.
 */
export async function waitForTask(
  api: PveTaskApi,
  upid: string,
  options: WaitForTaskOptions = {},
): Promise<TaskResult> {
  const clock = options.clock ?? systemClock;
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const maxIntervalMs = options.maxIntervalMs ?? 5_000;
  const graceMs = options.unknownTaskGraceMs ?? 10_000;
  const started = clock.now();
  let interval = options.initialIntervalMs ?? 500;

  for (;;) {
    signal?.throwIfAborted();
    let status: TaskStatus | undefined;
    try {
      status = await api.getTaskStatus(upid, { signal });
    } catch (error) {
      const unknownYet =
        error instanceof PveError &&
        error.status === 400 &&
        /no such task/.test(error.errors.upid ?? error.pveMessage) &&
        clock.now() - started < graceMs;
      if (!unknownYet) throw error;
    }

    if (status?.status === 'stopped') {
      const exitstatus = status.exitstatus ?? 'unexpected status';
      const { ok, warnings } = parseExitStatus(exitstatus);
      if (ok) return { upid, exitstatus, warnings };
      const tail = await readLogTail(api, upid, options.logTailLines ?? 20, signal);
      throw new PveTaskError(upid, exitstatus, tail);
    }

    const waited = clock.now() - started;
    if (waited >= timeoutMs) {
      throw new PveTaskTimeoutError(upid, waited);
    }
    await clock.sleep(Math.min(interval, timeoutMs - waited), signal);
    interval = Math.min(maxIntervalMs, Math.round(interval * 1.5));
  }
}

/** The last `lines` lines of a task log: one call for short logs, two when `total` says there is more. */
async function readLogTail(
  api: PveTaskApi,
  upid: string,
  lines: number,
  signal?: AbortSignal,
): Promise<string[]> {
  try {
    const pageSize = 50;
    let page = await api.getTaskLogPage(upid, { start: 0, limit: pageSize }, { signal });
    if (page.total !== undefined && page.total > pageSize) {
      page = await api.getTaskLogPage(
        upid,
        { start: Math.max(0, page.total - lines), limit: lines },
        { signal },
      );
    }
    return (page.data ?? []).slice(-lines).map(line => line.t);
  } catch (error) {
    if (signal?.aborted) throw error;
    // The failure itself is what matters; a missing log must not hide it.
    return [];
  }
}
