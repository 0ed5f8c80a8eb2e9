import type { Readable } from 'node:stream';
import type { DemoGuest } from '../DemoGuest';

/**
 * The demo host server as a guest's own tools see it: where "the network" ends. Lets host-to-host
 * commands (rsync pushing over ssh) reach the other guests of the same server, and nothing else.
 */
export interface DemoHostPeers {
  /** The address and port guests' ssh clients connect to (the server's listener). */
  host: string;
  port: number;
  /** The host key this server presents (`ssh-ed25519 AAAA…`), which a known_hosts file must pin. */
  hostPublicKey: string;
  /** Whether this client key (an SSH public key blob) may log in to the server's guests. */
  acceptsClientKey(keyBlob: Buffer): boolean;
  /** Another guest of this server, or undefined when none by that name exists. */
  findGuest(name: string): Promise<DemoGuest | undefined>;
}

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
  peers: DemoHostPeers;
}

/** Runs one command and resolves with its exit code. */
export type DemoCommand = (context: DemoCommandContext) => Promise<number>;

/** Command name → implementation. Anything else exits 127. */
export type DemoCommandRegistry = ReadonlyMap<string, DemoCommand>;
