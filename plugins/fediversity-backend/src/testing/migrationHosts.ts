import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { generateSshKeyPair, parsePublicKeyLine, sha256Fingerprint } from '@fediversity/plugin-fediversity-node';

/**
 * Two "hosts" for migration tests on one machine: each has its own OpenSSH server (own host key, own port
 * on 127.0.0.1), its own data root (the host's path prefix) and, on the source, a running PostgreSQL
 * primary; the target gets an empty place for its standby. Network namespaces would separate them further;
 * loopback ports keep the harness usable without root, and the bytes still flow host to host through ssh.
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
  source: TestHost;
  target: TestHost;
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

export async function startMigrationHosts(options: { fsync?: boolean; walLevel?: 'replica' | 'logical' } = {}): Promise<MigrationHosts> {
  const dir = mkdtempSync(join(tmpdir(), 'fediversity-migration-'));
  chmodSync(dir, 0o755);
  const username = userInfo().username;
  const osUser = asRoot ? 'postgres' : username;
  const portal = generateSshKeyPair('portal');
  const peer = generateSshKeyPair('source-to-target');

  const appctl = join(dir, 'appctl');
  writeFileSync(appctl, APPCTL, { mode: 0o755 });

  const pgRun = (program: string, args: string[]) => {
    const argv = asRoot ? ['runuser', '-u', osUser, '--', join(PG_BIN, program), ...args] : [join(PG_BIN, program), ...args];
    return execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' }).toString();
  };

  const hosts: TestHost[] = [];
  const sshds: SshdProcess[] = [];
  for (const role of ['source', 'target'] as const) {
    const root = join(dir, role);
    mkdirSync(join(root, 'etc/ssh'), { recursive: true });
    mkdirSync(join(root, 'var/lib/pg'), { recursive: true });
    if (asRoot) chownSync(join(root, 'var/lib/pg'), uidOf(osUser), gidOf(osUser));
    // The host key comes from ssh-keygen itself, as on a real host (sshd must be able to load it).
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${role}-host`, '-f', join(root, 'etc/ssh/host_ed25519')]);
    const hostKey = { publicKey: readFileSync(join(root, 'etc/ssh/host_ed25519.pub'), 'utf8').trim() };
    const authorized = role === 'target' ? [portal.publicKey, peer.publicKey] : [portal.publicKey];
    writeFileSync(join(root, 'etc/ssh/authorized_keys'), `${authorized.join('\n')}\n`, { mode: 0o600 });
    const sshd = new SshdProcess(root, username, await freePort());
    await sshd.start();
    sshds.push(sshd);
    hosts.push({
      role,
      root,
      sshPort: sshd.port,
      hostPublicKey: hostKey.publicKey,
      hostKeyFingerprint: sha256Fingerprint(parsePublicKeyLine(hostKey.publicKey).blob),
      sshdPid: () => sshd.pid(),
      stopSshd: () => sshd.stop(),
      startSshd: () => sshd.start(),
      dropSessions: () => sshd.killSessions(),
      pg: { dataDir: join(root, 'var/lib/pg/data'), port: await freePort(), socketDir: join(root, 'var/lib/pg') },
    });
  }
  const [source, target] = hosts;
  const peerIdentityFile = join(source.root, 'etc/ssh/peer_ed25519');
  writeFileSync(peerIdentityFile, peer.privateKey, { mode: 0o600 });

  const pgStatus = (host: TestHost) => {
    const argv = asRoot ? ['runuser', '-u', osUser, '--', join(PG_BIN, 'pg_ctl'), '-D', host.pg.dataDir, 'status'] : [join(PG_BIN, 'pg_ctl'), '-D', host.pg.dataDir, 'status'];
    const result = spawnSync(argv[0], argv.slice(1), { cwd: '/' });
    return result.status === 0 ? 'running' : result.status === 3 ? 'stopped' : 'absent';
  };
  const pgStart = (host: TestHost) => {
    pgRun('pg_ctl', ['-D', host.pg.dataDir, '-l', join(host.root, `var/lib/pg/postgresql-${host.pg.port}.log`), '-w', '-o', `-p ${host.pg.port} -k ${host.pg.socketDir} -h 127.0.0.1`, 'start']);
  };
  const pgStop = (host: TestHost, mode: 'fast' | 'immediate' = 'fast') => {
    if (pgStatus(host) === 'running') pgRun('pg_ctl', ['-D', host.pg.dataDir, '-m', mode, '-w', 'stop']);
  };
  const psql = (host: TestHost, sql: string) =>
    pgRun('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', host.pg.socketDir, '-p', String(host.pg.port), '-d', 'postgres', '-c', sql]).trim();

  pgRun('initdb', ['-D', source.pg.dataDir, '-A', 'trust', '--data-checksums']);
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
    async stop() {
      for (const host of hosts) {
        try {
          pgStop(host, 'immediate');
        } catch {
          // already gone
        }
      }
      for (const sshd of sshds) await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
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
export function tableHashes(hosts: MigrationHosts, host: TestHost): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const table of APP_TABLES) {
    hashes[table] = hosts.psql(host, `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM ${table} t`);
  }
  return hashes;
}

/**
 * The app's control script. `stop` raises the quiesce flag and waits until the writer (if one runs)
 * acknowledges that it stopped; `start` clears it.
 */
const APPCTL = `#!/bin/sh
set -e
state="$FEDIVERSITY_HOST_ROOT/run/app"
mkdir -p "$state"
case "$1" in
  stop)
    touch "$state/quiesced"
    rm -f "$state/started"
    i=0
    while [ -e "$state/writer-running" ] && [ ! -e "$state/writer-stopped" ]; do
      sleep 0.01
      i=$((i + 1))
      if [ "$i" -gt 3000 ]; then echo "writer did not stop" >&2; exit 1; fi
    done
    ;;
  start)
    rm -f "$state/quiesced" "$state/writer-stopped"
    touch "$state/started"
    ;;
  *) echo "usage: appctl stop|start" >&2; exit 2 ;;
esac
`;

class SshdProcess {
  private child?: ChildProcess;

  constructor(
    private readonly root: string,
    private readonly username: string,
    readonly port: number,
  ) {}

  pid() {
    return this.child?.pid;
  }

  async start() {
    if (this.child) return;
    const ssh = join(this.root, 'etc/ssh');
    const config = [
      `Port ${this.port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(ssh, 'host_ed25519')}`,
      `PidFile ${join(ssh, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(ssh, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${this.username}`,
      // HOME is the host's root too: the test machine's own ~/.bashrc (pyenv init: ~0.8 s) must not run
      // in every session, as it would not on a real host.
      `SetEnv FEDIVERSITY_HOST_ROOT=${this.root} HOME=${this.root}`,
      'MaxSessions 20',
      'MaxStartups 50',
      'LogLevel ERROR',
      '',
    ].join('\n');
    writeFileSync(join(ssh, 'sshd_config'), config);
    if (asRoot && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(ssh, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', chunk => (stderr += chunk.toString()));
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (!this.child || Date.now() > deadline) throw new Error(`sshd on port ${this.port} did not start: ${stderr}`);
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

function canConnect(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
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
