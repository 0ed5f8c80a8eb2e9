import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { DemoCommand } from './types';

export const trueCommand: DemoCommand = async () => 0;
export const falseCommand: DemoCommand = async () => 1;

function catErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EISDIR') return 'Is a directory';
  return 'Permission denied';
}

/** `cat <path>…` inside the guest's filesystem. */
export const catCommand: DemoCommand = async ({ argv, guest, stdout, stderr }) => {
  let status = 0;
  for (const path of argv.slice(1)) {
    try {
      stdout(await readFile(await guest.resolvePath(path)));
    } catch (err) {
      stderr(`cat: ${path}: ${catErrorText(err)}\n`);
      status = 1;
    }
  }
  return status;
};

export const hostnameCommand: DemoCommand = async ({ guest, stdout }) => {
  stdout(`${(await guest.readState()).hostname}\n`);
  return 0;
};

/** `sleep <seconds>`, interruptible: lets tests and timeouts exercise abort. */
export const sleepCommand: DemoCommand = async ({ argv, signal, stderr }) => {
  const seconds = Number(argv[1]);
  if (argv.length !== 2 || !Number.isFinite(seconds) || seconds < 0) {
    stderr('sleep: invalid time interval\n');
    return 1;
  }
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return signal.aborted ? 137 : 0;
};

function macFor(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 5);
  // bc:24:11 is the prefix Proxmox uses for generated guest MACs.
  return ['bc', '24', '11', ...[...bytes.subarray(0, 3)].map(b => b.toString(16).padStart(2, '0'))].join(':');
}

/** `ip -j addr [show]`: loopback plus eth0 with the guest's configured address. */
export const ipCommand: DemoCommand = async ({ argv, guest, stdout, stderr }) => {
  const args = argv.slice(1);
  if (!(args[0] === '-j' && ['addr', 'address', 'a'].includes(args[1]) && (args.length === 2 || (args.length === 3 && args[2] === 'show')))) {
    stderr('demo host: only `ip -j addr [show]` is supported\n');
    return 1;
  }
  const state = await guest.readState();
  const [local, prefix] = (state.ipv4 ?? '').split('/');
  const interfaces = [
    {
      ifindex: 1,
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
      mtu: 65536,
      operstate: 'UNKNOWN',
      link_type: 'loopback',
      address: '00:00:00:00:00:00',
      addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' }],
    },
    {
      ifindex: 2,
      ifname: 'eth0',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      operstate: 'UP',
      link_type: 'ether',
      address: macFor(guest.name),
      addr_info: local
        ? [{ family: 'inet', local, prefixlen: Number(prefix ?? 24), scope: 'global', label: 'eth0' }]
        : [],
    },
  ];
  stdout(`${JSON.stringify(interfaces)}\n`);
  return 0;
};
