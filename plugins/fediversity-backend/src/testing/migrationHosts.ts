import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { generateSshKeyPair, parsePublicKeyLine, sha256Fingerprint, testSshdConfig } from '@fediversity/plugin-fediversity-node';
import { mountOwnFilesystem } from './hostFilesystem';
import { createHostNetwork, HostNetwork, NetworkHost } from './hostNetwork';

/**
 * Two "hosts" for migration tests on one machine: each has its own OpenSSH server (own host key), its own
 * data root (the host's path prefix) and, on the source, a running PostgreSQL primary; the target gets an
 * empty place for its standby. As root each host is a network namespace with its own address on a bridge
 * made for the run (sshd on port 22, PostgreSQL on 5432, as on real hosts); otherwise, or with
 * FEDIVERSITY_TEST_NETNS=0, both listen on 127.0.0.1 with their own ports (see hostNetwork.ts). Either way
 * the bytes flow host to host through ssh, and PostgreSQL's unix sockets (a path) work from the test process.
 *
 * Every session of a host's sshd has FEDIVERSITY_HOST_ROOT set (sshd SetEnv), so the same app commands
 * (`<root>/appctl stop`) act on whichever host runs them, as `systemctl stop app` would.
 */
export const PG_BIN = process.env.FEDIVERSITY_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const FILES_PATH = '/srv/app/files';
export const IDENTITY_PATH = '/srv/app/identity/signing.key';
export const APP_TABLES = ['writes', 'items'];

export interface TestHost {
  role: 'source' | 'target';
  /** The host's address: sshd and PostgreSQL listen there (127.0.0.1 on loopback). */
  address: string;
  /** The host's network namespace, on `network: 'netns'`. */
  namespace?: string;
  /** The host's path prefix: app paths live below it. */
  root: string;
  sshPort: number;
  hostPublicKey: string;
  hostKeyFingerprint: string;
  sshdPid(): number | undefined;
  /** Stops the host's sshd (the host becomes unreachable). */
  stopSshd(): Promise<void>;
  startSshd(): Promise<void>;
  /** Kills every current ssh session of this host (a dropped connection); sshd keeps listening. */
  dropSessions(): number;
  pg: { dataDir: string; port: number; socketDir: string };
}

export interface MigrationHosts {
  dir: string;
  /** Namespaces on a bridge (real addresses) or loopback ports. */
  network: HostNetwork['kind'];
  /** Whether each host has a filesystem of its own (`own-ext4`) or both are directories on this machine's. */
  filesystems: 'own-ext4' | 'shared';
  source: TestHost;
  target: TestHost;
  /** See HostsOptions.sourceOnlyDirectory. */
  sourceOnlyDirectory?: string;
  username: string;
  portalPrivateKey: string;
  /** On the source host: the key the source uses to reach the target (authorised only there). */
  peerIdentityFile: string;
  appctl: string;
  osUser: string;
  /** Runs a PostgreSQL program as the cluster's OS user, on this machine. */
  pgRun(program: string, args: string[]): string;
  pgStart(host: TestHost): void;
  pgStop(host: TestHost, mode?: 'fast' | 'immediate'): void;
  pgStatus(host: TestHost): 'running' | 'stopped' | 'absent';
  /** `psql -At` on a host's cluster. */
  psql(host: TestHost, sql: string): string;
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

type HostsOptions = {
  fsync?: boolean;
  walLevel?: 'replica' | 'logical';
  /** Each host on a filesystem of its own of this size (see hostFilesystem.ts), where this machine allows. */
  ownFilesystemBytes?: number;
  /**
   * A directory the source host (and this process) sees and the target does not, at
   * MigrationHosts.sourceOnlyDirectory: the hosts share this machine's files, so a file one has and the other
   * lacks needs the target's sshd (and all it starts) in a mount namespace of its own with an empty tmpfs over
   * it. Needs root.
   */
  sourceOnlyDirectory?: boolean;
};

/** Thrown when the namespaces were made but one host cannot reach the other over the bridge (filtered). */
class BridgeBlockedError extends Error {}

export async function startMigrationHosts(options: HostsOptions = {}): Promise<MigrationHosts> {
  const network = createHostNetwork();
  try {
    return await startOn(network, options);
  } catch (error) {
    if (!(error instanceof BridgeBlockedError)) throw error;
    process.stderr.write(`migration test hosts: ${error.message}; using loopback ports\n`);
    return startOn(createHostNetwork({ loopback: true }), options);
  }
}

/** Undo actions, run last-added first; each runs even if an earlier one failed. */
class Teardown {
  private readonly actions: Array<() => Promise<void> | void> = [];

  add(action: () => Promise<void> | void) {
    this.actions.push(action);
  }

  /** For what must go after everything added so far and later. */
  addFirst(action: () => Promise<void> | void) {
    this.actions.unshift(action);
  }

  run = async () => {
    for (const action of this.actions.splice(0).reverse()) {
      try {
        await action();
      } catch {
        // best effort: the rest must still go
      }
    }
  };
}

/** Starts both hosts on `network`; if anything fails, what was started is stopped and the network removed. */
async function startOn(network: HostNetwork, options: HostsOptions): Promise<MigrationHosts> {
  const teardown = new Teardown();
  teardown.add(() => network.remove());
  try {
    return await startHosts(network, options, teardown);
  } catch (error) {
    await teardown.run();
    throw error;
  }
}

/**
 * The app's control script. `stop` raises the quiesce flag and waits until the writer (if one runs)
 * acknowledges that it stopped; `start` clears it. Shell builtins where they do (a process only to remove
 * a flag that is there), as a service manager's stop and start cost little beside the app's own.
 */
const APPCTL = `#!/bin/bash
set -e
state="$FEDIVERSITY_HOST_ROOT/run/app"
[ -d "$state" ] || mkdir -p "$state"
clear_flags() { for flag do [ ! -e "$state/$flag" ] || rm -f "$state/$flag"; done; }
case "$1" in
  stop)
    : > "$state/quiesced"
    clear_flags started
    # Waits in 2 ms steps without a process per step: read -t on a pipe that never delivers.
    exec 3<> <(:)
    i=0
    while [ -e "$state/writer-running" ] && [ ! -e "$state/writer-stopped" ]; do
      read -r -t 0.002 -u 3 || :
      i=$((i + 1))
      if [ "$i" -gt 15000 ]; then echo "writer did not stop" >&2; exit 1; fi
    done
    ;;
  start)
    clear_flags quiesced writer-stopped
    : > "$state/started"
    ;;
  *) echo "usage: appctl stop|start" >&2; exit 2 ;;
esac
`;

class SshdProcess {
  private child?: ChildProcess;

  constructor(
    private readonly root: string,
    private readonly username: string,
    private readonly place: NetworkHost,
    readonly port: number,
    /** A directory this host does not see (HostsOptions.sourceOnlyDirectory). */
    private readonly hidden?: string,
  ) {}

  pid() {
    return this.child?.pid;
  }

  async start() {
    if (this.child) return;
    const ssh = join(this.root, 'etc/ssh');
    const config = testSshdConfig({
      port: this.port,
      listenAddress: this.place.address,
      dir: ssh,
      username: this.username,
      // HOME is the host's root too (see testSshdConfig).
      environment: { HOME: this.root, FEDIVERSITY_HOST_ROOT: this.root },
      // As on a real host, the user's own list too: where a migration authorises the source's copy key.
      moreAuthorizedKeysFiles: [join(this.root, '.ssh/authorized_keys')],
      extra: ['MaxSessions 20', 'MaxStartups 50'],
    });
    writeFileSync(join(ssh, 'sshd_config'), config);
    if (asRoot && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    // nsenter, unshare and sh exec (no fork), so this child is the listening sshd and its sessions are its children.
    const hide = this.hidden ? ['unshare', '--mount', '--propagation', 'slave', 'sh', '-c', 'mount -t tmpfs -o mode=0755 hidden "$1" && shift && exec "$@"', 'sh', this.hidden] : [];
    const argv = [...this.place.enter, ...hide, '/usr/sbin/sshd', '-D', '-e', '-f', join(ssh, 'sshd_config')];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', chunk => (stderr += chunk.toString()));
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.place.address, this.port))) {
      if (!this.child || Date.now() > deadline) throw new Error(`sshd on ${this.place.address}:${this.port} did not start: ${stderr}`);
      await new Promise(resolve => setTimeout(resolve, 20));
    }
  }

  async stop() {
    this.killSessions();
    const child = this.child;
    if (!child) return;
    const gone = new Promise(resolve => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
  }

  /** Kills the per-connection sshd processes this sshd forked (found by parent pid in /proc). */
  killSessions(): number {
    const pid = this.child?.pid;
    if (!pid) return 0;
    let killed = 0;
    for (const child of childrenOf(pid)) {
      try {
        process.kill(child, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    return killed;
  }
}

async function startHosts(network: HostNetwork, options: HostsOptions, teardown: Teardown): Promise<MigrationHosts> {
  const dir = mkdtempSync(join(tmpdir(), 'fediversity-migration-'));
  const unmounts: Array<() => void> = [];
  // Unmounted and removed after the network, which ends whatever still runs on the hosts.
  teardown.addFirst(() => {
    for (const unmount of unmounts) unmount();
    rmSync(dir, { recursive: true, force: true });
  });
  chmodSync(dir, 0o755);
  const username = userInfo().username;
  const osUser = asRoot ? 'postgres' : username;
  const portal = generateSshKeyPair('portal');
  const peer = generateSshKeyPair('source-to-target');

  const sourceOnlyDirectory = options.sourceOnlyDirectory ? join(dir, 'source-only') : undefined;
  if (sourceOnlyDirectory) {
    if (!asRoot) throw new Error('a directory only the source sees needs root (a mount namespace)');
    mkdirSync(sourceOnlyDirectory, { mode: 0o755 });
  }

  const appctl = join(dir, 'appctl');
  writeFileSync(appctl, APPCTL, { mode: 0o755 });

  const pgRun = (program: string, args: string[]) => {
    const argv = asRoot ? ['runuser', '-u', osUser, '--', join(PG_BIN, program), ...args] : [join(PG_BIN, program), ...args];
    return execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' }).toString();
  };

  const hosts: TestHost[] = [];
  const onHost = new Map<TestHost, NetworkHost>();
  for (const role of ['source', 'target'] as const) {
    const place = network.hosts[role];
    const root = join(dir, role);
    const unmount = options.ownFilesystemBytes ? mountOwnFilesystem(join(dir, `${role}.ext4`), root, options.ownFilesystemBytes) : undefined;
    if (unmount) unmounts.push(unmount);
    mkdirSync(join(root, 'etc/ssh'), { recursive: true });
    mkdirSync(join(root, 'var/lib/pg'), { recursive: true });
    if (asRoot) chownSync(join(root, 'var/lib/pg'), uidOf(osUser), gidOf(osUser));
    // The host key comes from ssh-keygen itself, as on a real host (sshd must be able to load it).
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${role}-host`, '-f', join(root, 'etc/ssh/host_ed25519')]);
    const hostKey = { publicKey: readFileSync(join(root, 'etc/ssh/host_ed25519.pub'), 'utf8').trim() };
    const authorized = role === 'target' ? [portal.publicKey, peer.publicKey] : [portal.publicKey];
    writeFileSync(join(root, 'etc/ssh/authorized_keys'), `${authorized.join('\n')}\n`, { mode: 0o600 });
    // A host of its own has the usual ports; hosts sharing loopback need free ones.
    const sshd = new SshdProcess(root, username, place, place.namespace ? 22 : await freePort(), role === 'target' ? sourceOnlyDirectory : undefined);
    teardown.add(() => sshd.stop());
    await sshd.start();
    const host: TestHost = {
      role,
      address: place.address,
      namespace: place.namespace,
      root,
      sshPort: sshd.port,
      hostPublicKey: hostKey.publicKey,
      hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(hostKey.publicKey).blob),
      sshdPid: () => sshd.pid(),
      stopSshd: () => sshd.stop(),
      startSshd: () => sshd.start(),
      dropSessions: () => sshd.killSessions(),
      pg: { dataDir: join(root, 'var/lib/pg/data'), port: place.namespace ? 5432 : await freePort(), socketDir: join(root, 'var/lib/pg') },
    };
    hosts.push(host);
    onHost.set(host, place);
  }
  const [source, target] = hosts;
  if (network.kind === 'netns' && !canConnectFrom(network.hosts.source, target.address, target.sshPort)) {
    throw new BridgeBlockedError(`the source namespace cannot reach the target's sshd at ${target.address}:${target.sshPort} over the bridge`);
  }
  const peerIdentityFile = join(source.root, 'etc/ssh/peer_ed25519');
  writeFileSync(peerIdentityFile, peer.privateKey, { mode: 0o600 });

  const pgStatus = (host: TestHost) => {
    const argv = asRoot ? ['runuser', '-u', osUser, '--', join(PG_BIN, 'pg_ctl'), '-D', host.pg.dataDir, 'status'] : [join(PG_BIN, 'pg_ctl'), '-D', host.pg.dataDir, 'status'];
    return pgCtlStatus(spawnSync(argv[0], argv.slice(1), { cwd: '/' }).status);
  };
  // pg_ctl forks the postmaster where pg_ctl runs: on the host, so that it can listen on the host's address.
  const pgStart = (host: TestHost) => {
    const pgCtl = [join(PG_BIN, 'pg_ctl'), '-D', host.pg.dataDir, '-l', join(host.root, `var/lib/pg/postgresql-${host.pg.port}.log`), '-w', '-o', `-p ${host.pg.port} -k ${host.pg.socketDir} -h ${host.address}`, 'start'];
    const argv = [...onHost.get(host)!.enter, ...(asRoot ? ['runuser', '-u', osUser, '--'] : []), ...pgCtl];
    execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  };
  const pgStop = (host: TestHost, mode: 'fast' | 'immediate' = 'fast') => {
    if (pgStatus(host) === 'running') pgRun('pg_ctl', ['-D', host.pg.dataDir, '-m', mode, '-w', 'stop']);
  };
  const psql = (host: TestHost, sql: string) =>
    pgRun('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', host.pg.socketDir, '-p', String(host.pg.port), '-d', 'postgres', '-c', sql]).trim();

  for (const host of hosts) teardown.add(() => pgStop(host, 'immediate'));
  // As the portal's NixOS module creates clusters (nix/modules/common.nix): checksums, 1 MB WAL segments.
  pgRun('initdb', ['-D', source.pg.dataDir, '-A', 'trust', '--data-checksums', '--wal-segsize=1']);
  if (network.subnet) {
    // initdb trusts loopback only; the target's standby streams from the source's address.
    writeFileSync(
      join(source.pg.dataDir, 'pg_hba.conf'),
      `${readFileSync(join(source.pg.dataDir, 'pg_hba.conf'), 'utf8')}host all all ${network.subnet} trust\nhost replication all ${network.subnet} trust\n`,
    );
  }
  writeFileSync(
    join(source.pg.dataDir, 'postgresql.auto.conf'),
    [
      'wal_log_hints = on',
      `wal_level = ${options.walLevel ?? 'replica'}`,
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      `fsync = ${options.fsync === false ? 'off' : 'on'}`,
      'shared_buffers = 128MB',
      'max_wal_size = 2GB',
      '',
    ].join('\n'),
  );
  pgStart(source);
  psql(source, 'CREATE TABLE writes (id bigint PRIMARY KEY, payload text NOT NULL); CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, n integer NOT NULL);');

  return {
    dir,
    sourceOnlyDirectory,
    network: network.kind,
    filesystems: unmounts.length === hosts.length ? 'own-ext4' : 'shared',
    source,
    target,
    username,
    portalPrivateKey: portal.privateKey,
    peerIdentityFile,
    appctl,
    osUser,
    pgRun,
    pgStart,
    pgStop,
    pgStatus,
    psql,
    stop: teardown.run,
  };
}

/** A tree's content identity: sha256 over sorted (relative path, mode type, content hash). */
export function treeHash(root: string): string {
  const entries: string[] = [];
  const walk = (dir: string, rel: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const stat = statSync(full);
      if (stat.isDirectory()) {
        entries.push(`d ${path}`);
        walk(full, path);
      } else {
        entries.push(`f ${path} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
      }
    }
  };
  walk(root, '');
  return createHash('sha256').update(entries.join('\n')).digest('hex');
}

/** Ordered hashes of the app tables (replication.md §3): md5 over every row in primary-key order. */
/** tableHashes of a host whose cluster is stopped (the source after a migration): started for the reading, stopped again. */
export function tableHashesOfStopped(hosts: MigrationHosts, host: TestHost): Record<string, string> {
  hosts.pgStart(host);
  try {
    return tableHashes(hosts, host);
  } finally {
    hosts.pgStop(host);
  }
}

export function tableHashes(hosts: MigrationHosts, host: TestHost): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const table of APP_TABLES) {
    hashes[table] = hosts.psql(host, `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM ${table} t`);
  }
  return hashes;
}

/** `pg_ctl status` exits 3 for a stopped server and 4 where there is no data directory. */
function pgCtlStatus(exitCode: number | null): 'running' | 'stopped' | 'absent' {
  if (exitCode === 0) return 'running';
  if (exitCode === 3) return 'stopped';
  return 'absent';
}

function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

function canConnect(address: string, port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, address);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether a program on `from` can open a TCP connection to `address:port` (bash's /dev/tcp, 5 s at most). */
function canConnectFrom(from: NetworkHost, address: string, port: number): boolean {
  const argv = [...from.enter, 'timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', address, String(port)];
  return spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' }).status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function uidOf(user: string) {
  return Number(spawnSync('id', ['-u', user]).stdout.toString().trim());
}

function gidOf(user: string) {
  return Number(spawnSync('id', ['-g', user]).stdout.toString().trim());
}
