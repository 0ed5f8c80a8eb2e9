import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOSTILE_ARGS } from './hostileArgs';
import { SshConnection } from './SshConnection';
import { knownHostsLine } from './hostKeys';
import { pipeToPeerArgv, rsyncPushArgv, sshArgv, type PeerEndpoint } from './hostToHost';
import { generateSshKeyPair } from './keys';
import { startTestSshd, type TestSshd } from './testing/testSshd';

// Real servers on a shared 2-core machine: allow for load, not for hangs.
jest.setTimeout(30_000);

const peerBase: PeerEndpoint = {
  host: '10.0.0.2',
  port: 22,
  username: 'root',
  knownHostsFile: '/run/fediversity/job-1/known_hosts',
};

describe('host-to-host argv builders', () => {
  it('pins the peer key and never disables host key checking', () => {
    const argv = sshArgv(peerBase, ['zfs', 'recv', '-F', '--', 'tank/app']);
    expect(argv).toEqual([
      'ssh',
      '-p', '22',
      '-l', 'root',
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'UserKnownHostsFile=/run/fediversity/job-1/known_hosts',
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'ConnectTimeout=20',
      '--',
      '10.0.0.2',
      'zfs recv -F -- tank/app',
    ]);
  });

  // Hostile values that are not also ordinary file names (`--leading-dashes` under /srv is fine).
  const hostileInPath = HOSTILE_ARGS.filter(value => !/^[A-Za-z0-9._@+-]*$/.test(value));

  it.each(hostileInPath)('refuses %j as peer host or rsync path', value => {
    expect(() => sshArgv({ ...peerBase, host: value }, ['true'])).toThrow(/Invalid peer host/);
    expect(() => rsyncPushArgv({ sourcePath: `/srv/${value}`, peer: peerBase, targetPath: '/srv/x' })).toThrow(
      /Invalid rsync source/,
    );
    expect(() =>
      rsyncPushArgv({ sourcePath: '/srv/x', peer: { ...peerBase, knownHostsFile: `/k/${value}` }, targetPath: '/y' }),
    ).toThrow(/Invalid known_hosts file/);
  });
});

describe('host-to-host transfers through a real sshd', () => {
  let sshd: TestSshd | undefined;
  let connection: SshConnection;
  let peer: PeerEndpoint;

  beforeAll(async () => {
    const started = await startTestSshd();
    if (typeof started === 'string') {
      // eslint-disable-next-line no-console
      console.warn(`Skipping host-to-host tests: ${started}`);
      return;
    }
    sshd = started;
    // The "source host" is this sshd; its peer is the same sshd again, reached with the ssh CLI
    // that runs on the source, so the data never passes through this process.
    connection = await SshConnection.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      hostKey: sshd.hostPublicKey,
      privateKey: sshd.clientPrivateKey,
    });
    const knownHostsFile = join(sshd.dir, 'job', 'known_hosts');
    await connection.uploadFile(knownHostsFile, knownHostsLine(sshd.host, sshd.port, sshd.hostPublicKey), {
      mode: 0o600,
      mkdirs: true,
    });
    peer = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      knownHostsFile,
      identityFile: sshd.clientPrivateKeyPath,
    };
  }, 30_000);

  afterAll(async () => {
    connection?.close();
    await sshd?.stop();
  });

  it('rsyncs a directory host to host, names with odd characters included', async () => {
    if (!sshd) return;
    const source = join(sshd.dir, 'source');
    await mkdir(join(source, 'sub dir'), { recursive: true });
    await writeFile(join(source, 'sub dir', "it's $(id).txt"), 'payload');
    await writeFile(join(source, 'plain.txt'), 'plain');
    const argv = rsyncPushArgv({ sourcePath: `${source}/`, peer, targetPath: join(sshd.dir, 'target'), delete: true });
    await connection.run(argv);
    expect(await readFile(join(sshd.dir, 'target', 'sub dir', "it's $(id).txt"), 'utf8')).toBe('payload');
    expect(await readFile(join(sshd.dir, 'target', 'plain.txt'), 'utf8')).toBe('plain');
  }, 30_000);

  it('refuses a peer whose key differs from the pinned one', async () => {
    if (!sshd) return;
    const wrongKnownHosts = join(sshd.dir, 'job', 'wrong_known_hosts');
    await writeFile(wrongKnownHosts, knownHostsLine(sshd.host, sshd.port, generateSshKeyPair().publicKey));
    const argv = rsyncPushArgv({
      sourcePath: join(sshd.dir, 'source/'),
      peer: { ...peer, knownHostsFile: wrongKnownHosts },
      targetPath: join(sshd.dir, 'never'),
    });
    const result = await connection.run(argv, { check: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
  }, 30_000);

  it('pipes a producer into a consumer on the peer, quoting each shell level', async () => {
    if (!sshd) return;
    const target = join(sshd.dir, 'piped $(id) file');
    const argv = pipeToPeerArgv(['printf', '%s', "a'b\"c`d"], peer, ['dd', `of=${target}`, 'status=none']);
    await connection.run(argv);
    expect(await readFile(target, 'utf8')).toBe("a'b\"c`d");
    // A failing producer fails the step even though the consumer succeeds.
    const failing = await connection.run(pipeToPeerArgv(['false'], peer, ['cat']), { check: false });
    expect(failing.exitCode).toBe(1);
  }, 30_000);
});
