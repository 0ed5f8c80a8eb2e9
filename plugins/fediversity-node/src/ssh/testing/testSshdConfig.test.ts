import { testSshdConfig } from './testSshdConfig';

describe('testSshdConfig', () => {
  const base = { port: 2222, listenAddress: '127.0.0.1', dir: '/tmp/sshd-x', username: 'root' };

  it('lets one user in by key only, with the files in its directory and every session given the environment', () => {
    const config = testSshdConfig({ ...base, environment: { HOME: '/tmp/sshd-x', FEDIVERSITY_HOST_ROOT: '/tmp/host' }, extra: ['MaxSessions 20'] });
    const lines = config.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'Port 2222',
        'ListenAddress 127.0.0.1',
        'HostKey /tmp/sshd-x/host_ed25519',
        'AuthorizedKeysFile /tmp/sshd-x/authorized_keys',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowUsers root',
        'SetEnv HOME=/tmp/sshd-x FEDIVERSITY_HOST_ROOT=/tmp/host',
        'MaxSessions 20',
        'LogLevel ERROR',
      ]),
    );
  });

  it('refuses a value SetEnv would split or unquote, and a name that is not one', () => {
    for (const environment of [{ HOME: '/tmp/a b' }, { HOME: '/tmp/"a"' }, { HOME: '/tmp/a', 'bad name': 'x' }]) {
      expect(() => testSshdConfig({ ...base, environment: environment as { HOME: string } })).toThrow(/Cannot set/);
    }
  });
});
