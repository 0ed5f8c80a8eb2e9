import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

export type HostRole = 'source' | 'target';

/** Where one test host lives on the network, and how to start a program there. */
export interface NetworkHost {
  /** The address the host listens on; other hosts and the test process reach it there. */
  address: string;
  /** The host's network namespace (`/run/netns/<name>`), when it has one. */
  namespace?: string;
  /** Prefix for an argv that must run on the host (listen on its address): empty on loopback. */
  enter: string[];
}

export interface HostNetwork {
  kind: 'netns' | 'loopback';
  /** The hosts' shared subnet (CIDR) on namespaces; undefined on loopback. */
  subnet?: string;
  hosts: Record<HostRole, NetworkHost>;
  /** Kills what still runs in the namespaces and deletes them, the veths and the bridge. Idempotent. */
  remove(): void;
}

const ROLES: HostRole[] = ['source', 'target'];

const LOOPBACK: HostNetwork = {
  kind: 'loopback',
  hosts: {
    source: { address: '127.0.0.1', enter: [] },
    target: { address: '127.0.0.1', enter: [] },
  },
  remove() {},
};

/**
 * The two migration test hosts as real network hosts where the machine allows it: as root, each host gets
 * a network namespace whose `eth0` (one end of a veth pair) sits on a bridge made for this run, with an
 * address in a private /24 chosen per run (bridge .1, source .2, target .3). The test process, in the root
 * namespace, reaches the hosts through the bridge's address; the hosts reach each other over the bridge.
 * No sysctl is changed and no address outside that /24 is used.
 *
 * Otherwise (not root, `FEDIVERSITY_TEST_NETNS=0`, or a namespace cannot be made) both hosts are on
 * 127.0.0.1 with their own ports.
 *
 * Programs enter a host with `nsenter --net=…`, not `ip netns exec`: the latter also gives the program a
 * private mount namespace, and on a machine whose root mount is private a file system mounted by a test
 * later (the full-disk fault's tmpfs) would not be visible to the host's sshd.
 */
export function createHostNetwork(options: { loopback?: boolean } = {}): HostNetwork {
  if (options.loopback || process.env.FEDIVERSITY_TEST_NETNS === '0' || process.getuid?.() !== 0) return LOOPBACK;
  removeOrphans();
  const id = randomBytes(2).toString('hex');
  const subnetPrefix = freeSubnetPrefix();
  if (!subnetPrefix) {
    process.stderr.write('migration test hosts: no free 10.254.x.0/24 for a bridge; using loopback ports\n');
    return LOOPBACK;
  }
  const bridge = bridgeOf(id);
  // The creator's pid in the name lets a later run remove what a killed run left (removeOrphans).
  const namespaceOf = (role: HostRole) => `fd-${process.pid}-${id}-${role}`;
  const made = { namespaces: [] as string[], links: [] as string[] };

  const remove = () => {
    for (const namespace of made.namespaces.splice(0)) deleteNamespace(namespace);
    for (const link of made.links.splice(0).reverse()) deleteLink(link);
  };

  try {
    ip(['netns', 'add', namespaceOf('source')]);
    made.namespaces.push(namespaceOf('source'));
  } catch (error) {
    process.stderr.write(`migration test hosts: ip netns add failed (${firstLine(error)}); using loopback ports\n`);
    return LOOPBACK;
  }
  try {
    ip(['link', 'add', bridge, 'type', 'bridge']);
    made.links.push(bridge);
    ip(['addr', 'add', `${subnetPrefix}.1/24`, 'dev', bridge]);
    ip(['link', 'set', bridge, 'up']);
    const hosts = {} as Record<HostRole, NetworkHost>;
    ROLES.forEach((role, index) => {
      const namespace = namespaceOf(role);
      if (!made.namespaces.includes(namespace)) {
        ip(['netns', 'add', namespace]);
        made.namespaces.push(namespace);
      }
      const veth = vethOf(id, role);
      ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`]);
      made.links.push(veth);
      ip(['link', 'set', `${veth}p`, 'netns', namespace]);
      ip(['link', 'set', veth, 'master', bridge, 'up']);
      ip(['-n', namespace, 'link', 'set', `${veth}p`, 'name', 'eth0']);
      const address = `${subnetPrefix}.${index + 2}`;
      ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
      ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
      hosts[role] = { address, namespace, enter: ['nsenter', `--net=/run/netns/${namespace}`, '--'] };
    });
    let removed = false;
    const removeOnExit = () => remove();
    process.once('exit', removeOnExit);
    return {
      kind: 'netns',
      subnet: `${subnetPrefix}.0/24`,
      hosts,
      remove() {
        if (removed) return;
        removed = true;
        process.removeListener('exit', removeOnExit);
        remove();
      },
    };
  } catch (error) {
    remove();
    throw error;
  }
}

function bridgeOf(id: string): string {
  return `fdbr${id}`;
}

function vethOf(id: string, role: HostRole): string {
  return `fd${id}${role[0]}`;
}

const OUR_NAMESPACE = /^fd-(\d+)-([0-9a-f]{4})-(source|target)$/;

/** Namespaces (and their bridge and veths) left by a run whose process no longer exists (SIGKILLed, say). */
function removeOrphans() {
  const names = spawnSync('ip', ['netns', 'list']).stdout?.toString().split('\n').map(line => line.split(' ')[0]) ?? [];
  for (const name of names) {
    const match = OUR_NAMESPACE.exec(name);
    if (!match || processExists(Number(match[1]))) continue;
    const [, , id, role] = match;
    deleteNamespace(name);
    deleteLink(vethOf(id, role as HostRole));
    deleteLink(bridgeOf(id));
  }
}

/** A namespace outlives `ip netns del` while a process still runs in it: those are ended first. */
function deleteNamespace(namespace: string) {
  const pids = spawnSync('ip', ['netns', 'pids', namespace]).stdout?.toString().split('\n').filter(Boolean) ?? [];
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
}

function deleteLink(name: string) {
  spawnSync('ip', ['link', 'del', name], { stdio: 'ignore' });
}

function processExists(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A `10.254.x` prefix no interface of this machine has an address in (another run's bridge, say). */
function freeSubnetPrefix(): string | undefined {
  const used = new Set(
    [...execFileSync('ip', ['-o', '-4', 'addr', 'show']).toString().matchAll(/inet 10\.254\.(\d+)\./g)].map(match => Number(match[1])),
  );
  const free = Array.from({ length: 254 }, (_, i) => i + 1).filter(octet => !used.has(octet));
  return free.length ? `10.254.${free[randomInt(free.length)]}` : undefined;
}

function ip(args: string[]) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function firstLine(error: unknown) {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
  return (stderr || String(error)).split('\n')[0];
}
