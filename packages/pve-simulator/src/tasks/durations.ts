/**
 * How long tasks take at speed 1, in milliseconds. Chosen from what small LXC
 * guests on local ZFS typically take on a real node (template extraction dominates
 * create and restore; vzdump and migrations move a few GiB).
 */
export const TASK_DURATIONS_MS: Record<string, number> = {
  vzcreate: 20_000,
  vzrestore: 30_000,
  vzdestroy: 3_000,
  vzstart: 2_000,
  vzstop: 1_000,
  vzshutdown: 5_000,
  vzreboot: 7_000,
  vzsnapshot: 2_000,
  vzdelsnapshot: 2_000,
  vzrollback: 4_000,
  vzclone: 15_000,
  vzmigrate: 30_000,
  vzdump: 45_000,
};

export const DEFAULT_TASK_DURATION_MS = 5_000;

export function taskDuration(type: string, speed: number): number {
  return (TASK_DURATIONS_MS[type] ?? DEFAULT_TASK_DURATION_MS) / speed;
}
