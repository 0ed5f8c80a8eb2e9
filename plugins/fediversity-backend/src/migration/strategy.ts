import { CommandResult, HostRole, HostShell } from './hosts';
import { MigrationParams } from './params';
import { ReadyCommand } from './readyCommands';

/**
 * The name under which a strategy's prepareWindow may keep a command that runs the app's quiesce commands
 * on the source first (and then its own part of the window, on the host, without a round trip to the
 * portal): the quiesce step fires it instead of the app's own, waits for its QUIESCED_LINE, and keeps it
 * for the strategy's final sync under the same name.
 */
export const QUIESCE_COMMAND = 'quiesce';

/** The line a QUIESCE_COMMAND prints once the app's quiesce commands have all succeeded. */
export const QUIESCED_LINE = 'quiesced';

/** This strategy's commands started ahead for a later step of the job (readyCommands.ts). */
export interface StrategyReadyCommands {
  keep(name: string, command: ReadyCommand<unknown>): void;
  /** The command kept under `name` if it still waits; otherwise the step runs its command afresh. */
  take<Result = CommandResult>(name: string): ReadyCommand<Result> | undefined;
  hasRoom(role: HostRole): boolean;
  /** Fires the command kept under `name` now and keeps it for the step that takes it (false: none waits). */
  fireEarly(name: string, input: string): boolean;
}

/** What a strategy gets in every step: both hosts, the job's identity and its own checkpoint slice. */
export interface StrategyEnv {
  jobId: string;
  params: MigrationParams;
  source: HostShell;
  target: HostShell;
  signal: AbortSignal;
  /** What this strategy's preflight returned (undefined during the preflight itself). */
  preflight?: Record<string, unknown>;
  /** What this strategy's prepareWindow returned (from the quiesce step; undefined before it). */
  window?: Record<string, unknown>;
  /** What this strategy's finalSync returned (in the verify and later; undefined before). */
  finalSync?: Record<string, unknown>;
  /** This strategy's part of the step's checkpoint (from an earlier, interrupted run of the step). */
  checkpoint: Record<string, unknown>;
  saveCheckpoint(checkpoint: Record<string, unknown>): Promise<void>;
  /** Absent (unit tests): every command starts when it is needed. */
  ready?: StrategyReadyCommands;
  /** A secret's value by its reference (a param's `{ secretRef }`), kept out of events from then on. */
  secret(ref: string): Promise<string>;
  log(message: string, fields?: Record<string, unknown>): Promise<void>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export interface CatchUpRound {
  /** Seconds the round took (rsync pass time; for streaming, 0). */
  seconds: number;
  /** Replication lag in bytes where it applies. */
  lagBytes?: number;
  caughtUp: boolean;
}

/**
 * One way of moving one kind of data (files by rsync, PostgreSQL by streaming, the identity by hashed copy).
 * Every method is safe to run again after a crash (check-then-act), and none modifies the source except
 * `finalSync`'s quiescing part (stopping the source database) which `undoFinalSync` reverts, or that part
 * chained to the app's quiesce (QUIESCE_COMMAND), which `undoQuiesce` reverts.
 */
export interface MigrationStrategy {
  readonly name: string;
  /** Checks tools, versions and space; returns facts stored in the job. Throws PermanentJobError on a blocker. */
  preflight(env: StrategyEnv): Promise<Record<string, unknown>>;
  /** Bytes of source data this strategy moves (for the free-space check), with the target path they land on. */
  sourceBytes?(env: StrategyEnv): Promise<{ bytes: number; targetPath: string }>;
  prepareTarget(env: StrategyEnv): Promise<void>;
  /**
   * Right before the app is quiesced, while the source still serves: readies what shortens the downtime
   * window (an open host-to-host connection, a database checkpoint, a rehearsed verify). Changes nothing
   * that gets copied; what it returns reaches the later steps as `env.window`.
   */
  prepareWindow?(env: StrategyEnv): Promise<Record<string, unknown> | void>;
  initialSync(env: StrategyEnv): Promise<Record<string, unknown>>;
  catchUp(env: StrategyEnv): Promise<CatchUpRound>;
  /** What it returns reaches the verify as `env.finalSync`. */
  finalSync(env: StrategyEnv): Promise<Record<string, unknown>>;
  /** Throws (PermanentJobError) when the target differs from the source. */
  verify(env: StrategyEnv): Promise<Record<string, unknown>>;
  /**
   * The cut-over's part of the strategy (a promotion); must be idempotent. Not called when this strategy's
   * verify returned `promoted: true` (promoted already: nothing reaches the target before the cut-over).
   */
  cutOver(env: StrategyEnv): Promise<void>;
  isCutOver(env: StrategyEnv): Promise<boolean>;
  /** The target works on its own after the cut-over (e.g. the database accepts writes). */
  healthy(env: StrategyEnv): Promise<boolean>;
  /** Compensates finalSync: brings the source back to serving (restart its database). */
  undoFinalSync(env: StrategyEnv): Promise<void>;
  /** Compensates the quiesce step's part of a QUIESCE_COMMAND; runs before the app is started again. */
  undoQuiesce?(env: StrategyEnv): Promise<void>;
  /** Compensates initialSync: fences the target (stop the standby) and releases what it holds on the source. */
  undoInitialSync(env: StrategyEnv): Promise<void>;
  /**
   * Once the target serves on its own (the observe step): removes what only the copy needed on the target
   * (a replication passfile). Idempotent; a failure is reported, not fatal.
   */
  afterCutOver?(env: StrategyEnv): Promise<void>;
}
