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
  const id = randomBytes(2).toString('hex');
  const subnetPrefix = freeSubnetPrefix();
  if (!subnetPrefix) {
    process.stderr.write('migration test hosts: no free 10.254.x.0/24 for a bridge; using loopback ports\n');
    return LOOPBACK;
  }
  const bridge = `fdbr${id}`;
  const namespaceOf = (role: HostRole) => `fd-${id}-${role}`;
  const vethOf = (role: HostRole) => `fd${id}${role[0]}`;
  const made = { namespaces: [] as string[], links: [] as string[] };

  const remove = () => {
    for (const namespace of made.namespaces.splice(0)) {
      // A namespace outlives `ip netns del` while a process still runs in it: end them all first.
      const pids = spawnSync('ip', ['netns', 'pids', namespace]).stdout?.toString().split('\n').filter(Boolean) ?? [];
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', namespace]);
    }
    for (const link of made.links.splice(0).reverse()) spawnSync('ip', ['link', 'del', link], { stdio: 'ignore' });
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
      const veth = vethOf(role);
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
