import type { Readable } from 'node:stream';
import type { DemoGuest } from '../DemoGuest';

export interface DemoCommandContext {
  /** argv[0] is the command name. Parsed from the exec request without a shell. */
  argv: string[];
  guest: DemoGuest;
  env: Readonly<Record<string, string>>;
  stdin: Readable;
  stdout(data: string | Buffer): void;
  stderr(data: string | Buffer): void;
  /** Fires when the client aborts (signal request, `kill`, or channel closed). */
  signal: AbortSignal;
}

/** Runs one command and resolves with its exit code. */
export type DemoCommand = (context: DemoCommandContext) => Promise<number>;

/** Command name → implementation. Anything else exits 127. */
export type DemoCommandRegistry = ReadonlyMap<string, DemoCommand>;
