import { join } from 'node:path';

/** What differs between the tests' OpenSSH servers; the rest of their sshd_config is the same. */
export interface TestSshdConfigOptions {
  port: number;
  listenAddress: string;
  /** Holds host_ed25519, authorized_keys and the pid file. */
  dir: string;
  /** The one user allowed in, by key only. */
  username: string;
  /**
   * Set in every session (sshd SetEnv). HOME is required: bash run by sshd reads ~/.bashrc, and the test
   * machine's own (pyenv init, whose rehash waits forever on a lock a killed run left behind) must not
   * run in every session, as it would not on a real host.
   */
  environment: { HOME: string } & Record<string, string>;
  logLevel?: string;
  /** Key lists read after `dir`'s authorized_keys (e.g. a home's `.ssh/authorized_keys`). */
  moreAuthorizedKeysFiles?: string[];
  /** Further lines (Subsystem, MaxSessions, …). */
  extra?: string[];
}

/** The sshd_config of a test server: public keys only, one user, files in `dir` (StrictModes off: it lives under /tmp). */
export function testSshdConfig(options: TestSshdConfigOptions): string {
  const environment = Object.entries(options.environment).map(([name, value]) => {
    // SetEnv splits on whitespace and reads quotes: only plain values pass through unchanged.
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || !/^[^\s"'\\]*$/.test(value)) {
      throw new Error(`Cannot set ${JSON.stringify(name)}=${JSON.stringify(value)} in a test sshd's sessions`);
    }
    return `${name}=${value}`;
  });
  return [
    `Port ${options.port}`,
    `ListenAddress ${options.listenAddress}`,
    `HostKey ${join(options.dir, 'host_ed25519')}`,
    `PidFile ${join(options.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${[join(options.dir, 'authorized_keys'), ...(options.moreAuthorizedKeysFiles ?? [])].join(' ')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    `AllowUsers ${options.username}`,
    `SetEnv ${environment.join(' ')}`,
    ...(options.extra ?? []),
    `LogLevel ${options.logLevel ?? 'ERROR'}`,
    '',
  ].join('\n');
}
