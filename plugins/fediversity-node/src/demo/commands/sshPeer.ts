import { createHmac } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { utils } from 'ssh2';
import type { DemoGuest } from '../DemoGuest';
import type { DemoHostPeers } from './types';

/*
 * What the ssh client on a demo guest would do before rsync's bytes flow: reach the host, verify
 * its key against the guest's known_hosts files, and log in with the guest's identity files. The
 * only hosts reachable are the other guests of this demo host server.
 */

export class SshUsageError extends Error {
  override name = 'SshUsageError';
}

export interface SshClientOptions {
  port: number;
  /** `-l`; a destination's `user@` must agree with it. */
  user?: string;
  /** `-i`; without any, ssh tries the default key files. */
  identityFiles: string[];
  userKnownHostsFile: string;
  globalKnownHostsFile: string;
  /** `-O <command>`: talk to a control master instead of connecting. */
  controlCommand?: string;
  controlPath?: string;
}

export const NOT_A_DEMO_PEER = 'demo host: can only reach other demo guests of this server';
const DEFAULT_IDENTITIES = ['/root/.ssh/id_ed25519', '/root/.ssh/id_ecdsa', '/root/.ssh/id_rsa'];
const YES_NO = /^(yes|no)$/;
const SSH_CONFIG: Record<string, RegExp> = {
  BatchMode: YES_NO,
  // The demo host always verifies host keys; a command asking for less is refused, not obeyed.
  StrictHostKeyChecking: /^yes$/,
  UserKnownHostsFile: /^\S+$/,
  GlobalKnownHostsFile: /^\S+$/,
  ConnectTimeout: /^[0-9]+$/,
  IdentitiesOnly: YES_NO,
  Ciphers: /^[a-z0-9@.,-]+$/,
  Compression: YES_NO,
  ServerAliveInterval: /^[0-9]+$/,
  ServerAliveCountMax: /^[0-9]+$/,
  // Connection sharing is accepted and not emulated: every session connects on its own, which is
  // what ssh does when no control master is running.
  ControlMaster: /^(yes|no|auto)$/,
  ControlPath: /^\S+$/,
  ControlPersist: /^([0-9]+|yes|no)$/,
};

/** `~/` is root's home: the portal logs in to guests as root. */
function expandHome(path: string): string {
  return path.startsWith('~/') ? `/root/${path.slice(2)}` : path;
}

/**
 * Parses ssh's leading options (`-p`, `-l`, `-i`, `-O` and allow-listed `-o Key=value`) up to `--`
 * or the first other word, and returns the words after them (destination and remote command).
 */
export function parseSshOptions(words: readonly string[]): { ssh: SshClientOptions; rest: string[] } {
  const ssh: SshClientOptions = {
    port: 22,
    identityFiles: [],
    userKnownHostsFile: '/root/.ssh/known_hosts',
    globalKnownHostsFile: '/etc/ssh/ssh_known_hosts',
  };
  let i = 0;
  for (; i < words.length; i++) {
    const flag = words[i];
    if (flag === '--') {
      i++;
      break;
    }
    if (!flag.startsWith('-')) break;
    const value = words[++i];
    if (value === undefined) throw new SshUsageError(`option ${flag} needs a value`);
    if (flag === '-p' && /^[0-9]{1,5}$/.test(value)) ssh.port = Number(value);
    else if (flag === '-l') ssh.user = value;
    else if (flag === '-i') ssh.identityFiles.push(expandHome(value));
    else if (flag === '-O') ssh.controlCommand = value;
    else if (flag === '-o') {
      const [key, setting] = value.split(/=(.*)/s, 2);
      if (setting === undefined || !SSH_CONFIG[key]?.test(setting)) {
        throw new SshUsageError(`ssh option ${JSON.stringify(value)} is not supported by this demo host`);
      }
      if (key === 'UserKnownHostsFile') ssh.userKnownHostsFile = expandHome(setting);
      if (key === 'GlobalKnownHostsFile') ssh.globalKnownHostsFile = expandHome(setting);
      if (key === 'ControlPath') ssh.controlPath = expandHome(setting);
    } else throw new SshUsageError(`ssh option ${JSON.stringify(flag)} is not supported by this demo host`);
  }
  return { ssh, rest: words.slice(i) };
}

/** Parses rsync's `-e` value: `ssh` and its options, nothing after them. */
export function parseRemoteShell(remoteShell: string): SshClientOptions {
  const [program, ...words] = remoteShell.trim().split(/\s+/);
  if (program !== 'ssh') throw new SshUsageError(`remote shell ${JSON.stringify(program)} is not supported (only ssh)`);
  const { ssh, rest } = parseSshOptions(words);
  if (rest.length > 0 || ssh.controlCommand !== undefined) {
    throw new SshUsageError(`remote shell words ${JSON.stringify(rest.join(' '))} are not supported`);
  }
  return ssh;
}

/** Whether `host:port` is this server's listener, as a guest on the same machine can name it. */
export function reachesServer(peers: DemoHostPeers, host: string, port: number): boolean {
  if (port !== peers.port) return false;
  if (host === peers.host) return true;
  const loopback = host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
  if (peers.host === '0.0.0.0' || peers.host === '::') return loopback;
  return host === 'localhost' && (peers.host === '127.0.0.1' || peers.host === '::1');
}

/** OpenSSH's host pattern matching: `*`/`?` globs, `!` negation, hashed `|1|salt|hmac` names. */
function hostPatternsMatch(patterns: string, name: string): boolean {
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    let hit: boolean;
    if (body.startsWith('|1|')) {
      const [, , salt, hash] = body.split('|');
      hit = createHmac('sha1', Buffer.from(salt ?? '', 'base64')).update(name).digest('base64') === hash;
    } else {
      const glob = body.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
      hit = new RegExp(`^${glob}$`, 'i').test(name);
    }
    if (hit && negated) return false;
    matched ||= hit;
  }
  return matched;
}

type HostKeyCheck = { verified: true } | { verified: false; message: string };

/** StrictHostKeyChecking=yes against the guest's known_hosts files, as ssh does it. */
export async function checkHostKey(
  source: DemoGuest,
  ssh: SshClientOptions,
  peers: DemoHostPeers,
  host: string,
): Promise<HostKeyCheck> {
  const name = ssh.port === 22 ? host : `[${host}]:${ssh.port}`;
  const [algorithm, serverKey] = peers.hostPublicKey.split(/\s+/);
  let changed = false;
  let verified = false;
  for (const file of [ssh.userKnownHostsFile, ssh.globalKnownHostsFile]) {
    if (file === '/dev/null') continue;
    const text = await source
      .resolvePath(file)
      .then(local => readFile(local, 'utf8'))
      .catch(() => '');
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[0] === '' || fields[0].startsWith('#')) continue;
      const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
      const [patterns, keyType, key] = fields;
      if (!key || !hostPatternsMatch(patterns, name)) continue;
      const sameKey = keyType === algorithm && key === serverKey;
      if (marker === '@revoked' && sameKey) {
        return { verified: false, message: `Host key for ${name} was revoked and you have requested strict checking.` };
      }
      if (marker !== undefined) continue;
      if (sameKey) verified = true;
      else if (keyType === algorithm) changed = true;
    }
  }
  if (verified) return { verified: true };
  const keyName = algorithm.replace(/^ssh-/, '').toUpperCase();
  return {
    verified: false,
    message: changed
      ? `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\nHost key for ${name} has changed and you have requested strict checking.`
      : `No ${keyName} host key is known for ${name} and you have requested strict checking.`,
  };
}

/**
 * Public key login as `user`: an identity file on the source guest (private to its owner, mode
 * 0600 or stricter, else ssh ignores it) whose key the server accepts
 * (the portal's demo key) or the target guest lists in `/root/.ssh/authorized_keys`.
 */
export async function authenticate(
  source: DemoGuest,
  target: DemoGuest,
  ssh: SshClientOptions,
  peers: DemoHostPeers,
  warn: (line: string) => void,
): Promise<boolean> {
  const authorized = await target
    .resolvePath('/root/.ssh/authorized_keys')
    .then(local => readFile(local, 'utf8'))
    .catch(() => '');
  // `[options] keytype base64 [comment]`: the key is the word after the key type.
  const authorizedBlobs = authorized.split('\n').map(line => {
    const words = line.trim().split(/\s+/);
    const keyType = words.findIndex(word => /^(ssh-|ecdsa-|sk-)/.test(word));
    return keyType >= 0 ? words[keyType + 1] : undefined;
  });
  const candidates = ssh.identityFiles.length > 0 ? ssh.identityFiles : DEFAULT_IDENTITIES;
  for (const file of candidates) {
    let text: string;
    try {
      const local = await source.resolvePath(file);
      const mode = (await stat(local)).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        // As ssh does: a key others can read is not trusted to be private.
        warn(`Permissions 0${mode.toString(8)} for '${file}' are too open.\nThis private key will be ignored.`);
        continue;
      }
      text = await readFile(local, 'utf8');
    } catch {
      if (ssh.identityFiles.includes(file)) warn(`Warning: Identity file ${file} not accessible: No such file or directory.`);
      continue;
    }
    const parsed = utils.parseKey(text);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error || !key.isPrivateKey()) {
      warn(`Load key "${file}": invalid format`);
      continue;
    }
    const blob = key.getPublicSSH();
    if (peers.acceptsClientKey(blob) || authorizedBlobs.includes(blob.toString('base64'))) return true;
  }
  return false;
}

export interface PeerDestination {
  user?: string;
  host: string;
}

/**
 * The ssh client's way in, checked in ssh's order: a host it can reach, that host's key pinned in
 * the source guest's known_hosts, a login the target guest accepts. Answers the target guest, or
 * the message ssh would print before exiting 255.
 */
export async function loginToPeer(
  source: DemoGuest,
  ssh: SshClientOptions,
  destination: PeerDestination,
  peers: DemoHostPeers,
  warn: (line: string) => void,
): Promise<DemoGuest | string> {
  if (ssh.user !== undefined && destination.user !== undefined && ssh.user !== destination.user) {
    return `ssh: -l ${ssh.user} and ${destination.user}@ name different users`;
  }
  const user = destination.user ?? ssh.user ?? 'root';
  if (!reachesServer(peers, destination.host, ssh.port)) return NOT_A_DEMO_PEER;
  const hostKey = await checkHostKey(source, ssh, peers, destination.host);
  if (!hostKey.verified) return `${hostKey.message}\nHost key verification failed.`;
  const target = await peers.findGuest(user);
  if (!target || !(await authenticate(source, target, ssh, peers, warn))) {
    return `${user}@${destination.host}: Permission denied (publickey).`;
  }
  return target;
}
