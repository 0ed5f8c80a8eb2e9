import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DemoGuest } from '../../DemoGuest';
import type { DemoCommand, DemoHostPeers } from '../types';

/** For tests: a fresh guest in a temp dir (remove `guest.dir`'s parent afterwards). */
export async function makeTestGuest(name = 'ct-100'): Promise<DemoGuest> {
  const guest = new DemoGuest(name, join(await mkdtemp(join(tmpdir(), 'fediversity-demo-cmd-')), name));
  await guest.initialise({});
  return guest;
}

const NO_PEERS: DemoHostPeers = {
  host: '127.0.0.1',
  port: 0,
  hostPublicKey: 'ssh-ed25519 AAAA',
  acceptsClientKey: () => false,
  findGuest: async () => undefined,
};

/** For tests: runs a command in-process (no SSH) and collects its output. */
export async function runDemoCommand(
  command: DemoCommand,
  guest: DemoGuest,
  argv: string[],
  options: { stdin?: string; signal?: AbortSignal } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const exitCode = await command({
    argv,
    guest,
    env: {},
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    stdout: data => stdout.push(Buffer.from(data)),
    stderr: data => stderr.push(Buffer.from(data)),
    signal: options.signal ?? new AbortController().signal,
    peers: NO_PEERS,
  });
  return { exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}
