import { parseCommandLine } from '../../ssh/commandLine';
import { loginToPeer, parseSshOptions, SshUsageError, type SshClientOptions } from './sshPeer';
import type { DemoCommand } from './types';

const DESTINATION = /^(?:([A-Za-z0-9_][A-Za-z0-9_.-]*)@)?([A-Za-z0-9][A-Za-z0-9.:-]*)$/;

/**
 * `ssh [options] [--] [user@]host true` from a demo guest to another guest of this server, with the
 * checks rsync's ssh gets (reachable host, pinned key, accepted identity); `true` is the only
 * remote command (a connection check). Connections are not shared here, so `ssh -O exit|check`
 * finds no control master and fails as ssh does, and a session with `ControlMaster=no` connects
 * on its own.
 */
export const demoSshCommand: DemoCommand = async ({ argv, guest, peers, stderr }) => {
  let ssh: SshClientOptions;
  let rest: string[];
  try {
    ({ ssh, rest } = parseSshOptions(argv.slice(1)));
  } catch (error) {
    if (!(error instanceof SshUsageError)) throw error;
    stderr(`ssh: ${error.message}\n`);
    return 255;
  }
  if (ssh.controlCommand !== undefined) {
    if (!['exit', 'check', 'stop'].includes(ssh.controlCommand) || ssh.controlPath === undefined) {
      stderr('ssh: this demo host supports only `-O exit|check|stop` with `-o ControlPath=`\n');
      return 255;
    }
    stderr(`Control socket connect(${ssh.controlPath}): No such file or directory\n`);
    return 255;
  }
  const [destination, ...words] = rest;
  const match = DESTINATION.exec(destination ?? '');
  if (!match) {
    stderr('ssh: this demo host supports only `ssh [options] [--] [user@]host true`\n');
    return 255;
  }
  const warn = (line: string) => stderr(`${line}\n`);
  const target = await loginToPeer(guest, ssh, { user: match[1], host: match[2] }, peers, warn);
  if (typeof target === 'string') {
    stderr(`${target}\n`);
    return 255;
  }
  let remote: string[];
  try {
    // ssh sends its words to the remote shell joined by spaces.
    remote = parseCommandLine(words.join(' '));
  } catch {
    remote = [];
  }
  if (remote.length !== 1 || remote[0] !== 'true') {
    stderr(`demo host ${target.name}: ssh between demo guests runs only \`true\` (a connection check)\n`);
    return 127;
  }
  return 0;
};
