import { timingSafeEqual } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { InputError, NotFoundError } from '@backstage/errors';
import { Server, utils, type Connection, type ServerChannel, type Session } from 'ssh2';
import { parseCommandLine } from '../ssh/commandLine';
import { describeHostKey, parsePublicKeyLine, type HostPublicKey } from '../ssh/hostKeys';
import { loadOrCreateSshKeyPair } from '../ssh/keys';
import { assertDemoGuestName, DemoGuest, type DemoGuestInit } from './DemoGuest';
import type { DemoCommandRegistry, DemoHostPeers } from './commands';
import { serveGuestSftp } from './sftpServer';

export interface DemoHostServerOptions {
  /** Host key, guests and their state live here and survive restarts. */
  dataDir: string;
  /** The one client key allowed in (the portal's demo identity): `ssh-ed25519 AAAA…`. */
  authorizedKey: string;
  commands: DemoCommandRegistry;
  /** 0 picks a free port; use a fixed one so endpoints stay valid across restarts. */
  port?: number;
  /** Loopback only by default: demo hosts are not meant to be reachable from elsewhere. */
  host?: string;
  logger?: LoggerService;
}

/** What the portal records for a demo guest, exactly like a real host's SSH endpoint. */
export interface DemoHostEndpoint {
  host: string;
  port: number;
  username: string;
  /** The pin to store: the server's public key. */
  hostKey: string;
  hostKeyFingerprint: string;
  /** Always true: show this host as a demo in the UI. */
  demo: true;
}

/** Matches SshConnection's kill wrapper: `sh -c 'echo $$; exec "$@"' sh argv…`. */
const PID_WRAPPER = ['sh', '-c', 'echo $$; exec "$@"', 'sh'];
const ENV_ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

interface RunningCommand {
  guest: string;
  controller: AbortController;
}

/**
 * An SSH server standing in for guests created on the PVE simulator, so templates run end to end
 * without real machines. One listener serves every guest; the SSH username selects the guest
 * (`ct-<vmid>`). Commands are parsed into argv (never given to a shell) and dispatched to an
 * injected registry; SFTP is confined to the guest's directory.
 */
export class DemoHostServer {
  private readonly running = new Map<number, RunningCommand>();
  private nextPid = 1000;
  private readonly guests = new Map<string, DemoGuest>();
  private readonly connections = new Set<Connection>();

  private constructor(
    private readonly options: DemoHostServerOptions,
    private readonly server: Server,
    readonly hostKey: HostPublicKey,
    private readonly authorizedKey: Buffer,
  ) {}

  static async start(options: DemoHostServerOptions): Promise<DemoHostServer> {
    await mkdir(join(options.dataDir, 'guests'), { recursive: true, mode: 0o700 });
    const keyPair = await loadOrCreateSshKeyPair(join(options.dataDir, 'ssh_host_ed25519_key'), 'fediversity-demo-host');
    const authorizedKey = parsePublicKeyLine(options.authorizedKey).blob;
    const hostKey = describeHostKey(parsePublicKeyLine(keyPair.publicKey).blob);
    const server = new Server({ hostKeys: [keyPair.privateKey], ident: 'FediversityDemoHost_1.0' });
    const instance = new DemoHostServer(options, server, hostKey, authorizedKey);
    server.on('connection', client => instance.onConnection(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return instance;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get host(): string {
    return (this.server.address() as AddressInfo).address;
  }

  /** Creates (or reopens) a guest and returns how to reach it. */
  async ensureGuest(name: string, init: DemoGuestInit = {}): Promise<DemoHostEndpoint> {
    const guest = this.guestObject(assertDemoGuestName(name));
    await guest.initialise(init);
    return this.endpoint(name);
  }

  endpoint(name: string): DemoHostEndpoint {
    return {
      host: this.host,
      port: this.port,
      username: assertDemoGuestName(name),
      hostKey: this.hostKey.publicKey,
      hostKeyFingerprint: this.hostKey.fingerprint,
      demo: true,
    };
  }

  /** The guest's directories and state, for tests and for the UI's "demo" details. */
  async guest(name: string): Promise<DemoGuest> {
    const guest = await this.existingGuest(name);
    if (!guest) throw new NotFoundError(`No demo guest ${name}`);
    return guest;
  }

  async stop(): Promise<void> {
    for (const { controller } of this.running.values()) controller.abort();
    for (const connection of this.connections) connection.end();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
  }

  private guestObject(name: string): DemoGuest {
    let guest = this.guests.get(name);
    if (!guest) {
      guest = new DemoGuest(name, join(this.options.dataDir, 'guests', name));
      this.guests.set(name, guest);
    }
    return guest;
  }

  private async existingGuest(name: string): Promise<DemoGuest | undefined> {
    try {
      assertDemoGuestName(name);
    } catch {
      return undefined;
    }
    const guest = this.guestObject(name);
    const exists = await stat(guest.rootDir).then(
      s => s.isDirectory(),
      () => false,
    );
    return exists ? guest : undefined;
  }

  private onConnection(client: Connection): void {
    this.connections.add(client);
    let guest: DemoGuest | undefined;
    client.on('close', () => this.connections.delete(client));
    client.on('error', err => this.options.logger?.debug(`demo host connection error: ${err.message}`));
    client.on('authentication', ctx => {
      if (ctx.method !== 'publickey') {
        ctx.reject(['publickey']);
        return;
      }
      const offered = ctx.key.data;
      const keyMatches =
        offered.length === this.authorizedKey.length && timingSafeEqual(offered, this.authorizedKey);
      if (!keyMatches) {
        ctx.reject(['publickey']);
        return;
      }
      if (ctx.signature) {
        const parsed = utils.parseKey(this.options.authorizedKey);
        if (parsed instanceof Error || !ctx.blob || parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          ctx.reject(['publickey']);
          return;
        }
      }
      void this.existingGuest(ctx.username).then(found => {
        if (!found) {
          ctx.reject(['publickey']);
          return;
        }
        guest = found;
        // Without a signature this is only the "would you accept this key?" probe.
        ctx.accept();
      });
    });
    client.on('ready', () => {
      client.on('session', accept => this.onSession(accept(), guest!));
    });
  }

  private onSession(session: Session, guest: DemoGuest): void {
    const env: Record<string, string> = {};
    session.on('env', (accept, _reject, info) => {
      env[info.key] = info.val;
      accept?.();
    });
    // No 'signal' handler: ssh2 stops routing channel requests to the session once exec has
    // started. Clients stop commands with SshConnection's pid mode (`kill`) or by closing the channel.
    session.on('sftp', accept => serveGuestSftp(accept(), guest));
    session.on('exec', (accept, _reject, info) => {
      const channel = accept();
      void this.runExec(channel, guest, info.command, { ...env }, new AbortController());
    });
    session.on('pty', (_accept, reject) => reject?.());
    session.on('shell', (_accept, reject) => reject());
  }

  private async runExec(
    channel: ServerChannel,
    guest: DemoGuest,
    commandLine: string,
    env: Record<string, string>,
    controller: AbortController,
  ): Promise<void> {
    const pid = this.nextPid++;
    this.running.set(pid, { guest: guest.name, controller });
    channel.on('close', () => controller.abort());
    const stdout = (data: string | Buffer) => {
      if (channel.writable) channel.write(data);
    };
    const stderr = (data: string | Buffer) => {
      if (channel.stderr.writable) channel.stderr.write(data);
    };
    let exitCode: number;
    try {
      let argv = parseCommandLine(commandLine);
      if (PID_WRAPPER.every((word, i) => argv[i] === word) && argv.length > PID_WRAPPER.length) {
        channel.write(`${pid}\n`);
        argv = argv.slice(PID_WRAPPER.length);
      }
      exitCode = await this.dispatch(argv, guest, env, channel, controller.signal, stdout, stderr);
    } catch (err) {
      stderr(`demo host: ${(err as Error).message}\n`);
      exitCode = err instanceof InputError ? 2 : 1;
    } finally {
      this.running.delete(pid);
    }
    try {
      if (controller.signal.aborted) channel.exit('KILL');
      else channel.exit(exitCode);
      channel.end();
    } catch {
      // The client closed the channel first; nobody is left to tell.
    }
  }

  private async dispatch(
    argv: string[],
    guest: DemoGuest,
    env: Record<string, string>,
    channel: ServerChannel,
    signal: AbortSignal,
    stdout: (data: string | Buffer) => void,
    stderr: (data: string | Buffer) => void,
  ): Promise<number> {
    if (argv[0] === 'env') {
      let i = 1;
      const extended = { ...env };
      for (; i < argv.length; i++) {
        const match = ENV_ASSIGNMENT.exec(argv[i]);
        if (!match) break;
        extended[match[1]] = match[2];
      }
      if (i === argv.length) {
        stderr('demo host: env without a command is not supported\n');
        return 2;
      }
      return this.dispatch(argv.slice(i), guest, extended, channel, signal, stdout, stderr);
    }
    if (argv[0] === 'kill') return this.kill(argv, guest, stderr);
    const command = this.options.commands.get(argv[0] ?? '');
    if (!command) {
      stderr(`demo host: command not found: ${argv[0] ?? ''} (this demo host runs only the portal's own commands)\n`);
      return 127;
    }
    return command({ argv, guest, env, stdin: channel, stdout, stderr, signal, peers: this.peers() });
  }

  /** What a guest's own ssh could reach: this server's listener and its other guests. */
  private peers(): DemoHostPeers {
    return {
      host: this.host,
      port: this.port,
      hostPublicKey: this.hostKey.publicKey,
      acceptsClientKey: keyBlob => keyBlob.equals(this.authorizedKey),
      findGuest: name => this.existingGuest(name),
    };
  }

  /** `kill -KILL -- -<pid>|<pid>` for SshConnection's pid kill mode, limited to the same guest. */
  private async kill(argv: string[], guest: DemoGuest, stderr: (data: string) => void): Promise<number> {
    const target = argv.filter(a => a !== '--' && !/^-[A-Z]+$/.test(a)).pop() ?? '';
    const pid = Number(target.replace(/^-/, ''));
    const entry = this.running.get(pid);
    if (!Number.isInteger(pid) || !entry || entry.guest !== guest.name) {
      stderr(`kill: (${target}) - No such process\n`);
      return 1;
    }
    entry.controller.abort();
    return 0;
  }
}
