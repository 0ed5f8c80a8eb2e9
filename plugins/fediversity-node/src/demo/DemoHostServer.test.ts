import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNixInstantiate, isNixInstantiateAvailable, type NixInstantiate } from '../nix';
import { HOSTILE_ARGS } from '../ssh/hostileArgs';
import { SshConnection } from '../ssh/SshConnection';
import { generateSshKeyPair } from '../ssh/keys';
import { DemoHostServer, type DemoHostEndpoint } from './DemoHostServer';
import { defaultDemoCommands, type DemoCommand } from './commands';

// Real servers on a shared 2-core machine: allow for load, not for hangs.
jest.setTimeout(30_000);

const FLAKE = `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
  outputs = { self, nixpkgs }: {
    nixosConfigurations.social = nixpkgs.lib.nixosSystem { modules = [ ./configuration.nix ]; };
  };
}
`;

describe('DemoHostServer', () => {
  let dataDir: string;
  let server: DemoHostServer;
  let nix: NixInstantiate | undefined;
  const client = generateSshKeyPair('portal');
  const argvEcho: DemoCommand = async ({ argv, env, stdout }) => {
    stdout(JSON.stringify({ argv, env }));
    return 0;
  };

  const start = async () =>
    DemoHostServer.start({
      dataDir,
      authorizedKey: client.publicKey,
      commands: new Map([...defaultDemoCommands({ nixInstantiate: nix }), ['argv-echo', argvEcho]]),
    });
  const connect = (endpoint: DemoHostEndpoint, privateKey = client.privateKey) =>
    SshConnection.connect({ ...endpoint, privateKey });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fediversity-demo-'));
    if (await isNixInstantiateAvailable()) nix = await createNixInstantiate();
    // eslint-disable-next-line no-console
    else console.warn('nix-instantiate not installed: demo nixos-rebuild runs without parse checks');
    server = await start();
  });

  afterAll(async () => {
    await server?.stop();
    await nix?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves a guest over SSH with a pinned host key; argv arrives intact without a shell', async () => {
    const endpoint = await server.ensureGuest('ct-101', { hostname: 'social', ipv4: '10.0.0.101/24' });
    expect(endpoint).toMatchObject({ host: '127.0.0.1', username: 'ct-101', demo: true });
    const connection = await connect(endpoint);
    try {
      const result = await connection.run(['argv-echo', ...HOSTILE_ARGS], { env: { NIX_CONFIG: 'a = b' } });
      expect(JSON.parse(result.stdout)).toEqual({ argv: ['argv-echo', ...HOSTILE_ARGS], env: { NIX_CONFIG: 'a = b' } });
      expect((await connection.run(['cat', '/etc/os-release'])).stdout).toMatch(/Fediversity demo host/);
      expect((await connection.run(['hostname'])).stdout).toBe('social\n');
      const addresses = JSON.parse((await connection.run(['ip', '-j', 'addr'])).stdout);
      expect(addresses[1].addr_info[0]).toMatchObject({ local: '10.0.0.101', prefixlen: 24 });
      const unknown = await connection.run(['dd', 'if=/dev/zero', 'of=/dev/sda'], { check: false });
      expect(unknown.exitCode).toBe(127);
      expect(unknown.stderr).toMatch(/command not found: dd/);
      const wipe = await connection.run(['rm', '-rf', '--', '/'], { check: false });
      expect(wipe.exitCode).toBe(1);
      expect((await connection.run(['cat', '/etc/os-release'])).exitCode).toBe(0);
      // Shell syntax is refused, not interpreted.
      const shell = await connection.run(['sh', '-c', 'echo hi; id'], { check: false });
      expect(shell.exitCode).toBe(127);
      expect(existsSync('/tmp/fediversity-pwned')).toBe(false);
    } finally {
      connection.close();
    }
  });

  it('refuses unknown keys, unknown guests and connections with a wrong pin', async () => {
    const endpoint = await server.ensureGuest('ct-102');
    await expect(connect(endpoint, generateSshKeyPair().privateKey)).rejects.toThrow(/authentication/i);
    await expect(connect({ ...endpoint, username: 'ct-999' })).rejects.toThrow(/authentication/i);
    await expect(
      connect({ ...endpoint, hostKey: generateSshKeyPair().publicKey }),
    ).rejects.toMatchObject({ name: 'HostKeyMismatchError' });
    await expect(server.ensureGuest('../etc')).rejects.toThrow(/Invalid demo guest name/);
  });

  it('keeps its host key across restarts, so pins stay valid', async () => {
    const before = server.hostKey.fingerprint;
    const port = server.port;
    await server.stop();
    server = await DemoHostServer.start({
      dataDir,
      port,
      authorizedKey: client.publicKey,
      commands: defaultDemoCommands({ nixInstantiate: nix }),
    });
    expect(server.hostKey.fingerprint).toBe(before);
    const connection = await connect(server.endpoint('ct-101'));
    expect((await connection.run(['true'])).exitCode).toBe(0);
    connection.close();
    await server.stop();
    server = await start();
  });

  it('confines SFTP to the guest directory', async () => {
    const endpoint = await server.ensureGuest('ct-103');
    const guest = await server.guest('ct-103');
    const connection = await connect(endpoint);
    try {
      await connection.uploadFile('/etc/nixos/configuration.nix', '{ }\n', { mode: 0o600 });
      const local = join(guest.rootDir, 'etc/nixos/configuration.nix');
      expect(await readFile(local, 'utf8')).toBe('{ }\n');
      expect((await stat(local)).mode & 0o777).toBe(0o600);
      // Raw SFTP (uploadFile would refuse `..` before sending): `..` stops at the guest's root.
      const sftp = await connection.sftp();
      await new Promise<void>((resolve, reject) =>
        sftp.writeFile('/../../../escaped.txt', 'x', err => (err ? reject(err) : resolve())),
      );
      expect(await readFile(join(guest.rootDir, 'escaped.txt'), 'utf8')).toBe('x');
      expect(existsSync(join(dataDir, 'escaped.txt'))).toBe(false);
      expect(existsSync(join(dataDir, 'guests', 'escaped.txt'))).toBe(false);
      const realpath = await new Promise<string>((resolve, reject) =>
        sftp.realpath('../..', (err, path) => (err ? reject(err) : resolve(path))),
      );
      expect(realpath).toBe('/');
      // A symlink planted on the server side is not followed out of the guest.
      await symlink(dataDir, join(guest.rootDir, 'link'));
      await expect(connection.readFile('/link/ssh_host_ed25519_key')).rejects.toThrow();
      await expect(connection.uploadFile('/link/planted', 'x')).rejects.toThrow();
      await expect(
        new Promise<void>((resolve, reject) =>
          sftp.writeFile('/link/planted-raw', 'x', err => (err ? reject(err) : resolve())),
        ),
      ).rejects.toThrow(/Permission denied|leaves the demo guest/);
      expect(existsSync(join(dataDir, 'planted'))).toBe(false);
      // Overwrites are atomic renames (the demo server's RENAME replaces the target).
      await connection.uploadFile('/etc/nixos/configuration.nix', '{ x = 1; }\n');
      expect(await readFile(local, 'utf8')).toBe('{ x = 1; }\n');
    } finally {
      connection.close();
    }
  });

  it('runs nixos-rebuild switch: parse-checks, records generations, rolls back', async () => {
    const endpoint = await server.ensureGuest('ct-104', { hostname: 'social' });
    const guest = await server.guest('ct-104');
    const connection = await connect(endpoint);
    try {
      expect((await connection.run(['systemctl', 'is-active', 'mastodon-web'], { check: false })).exitCode).toBe(3);
      await connection.uploadFile('/etc/nixos/flake.nix', FLAKE, { mkdirs: true });
      await connection.uploadFile('/etc/nixos/configuration.nix', '{ ... }: { system.stateVersion = "25.05"; }\n');
      const rebuild = ['nixos-rebuild', 'switch', '--flake', '/etc/nixos#social'];
      const first = await connection.run(rebuild, { env: { NIX_CONFIG: 'experimental-features = nix-command flakes' } });
      expect(first.stderr).toMatch(/building the system configuration\.\.\.[\s\S]*activating the configuration/);
      expect(first.stderr).toMatch(/recorded generation 1/);
      expect(first.stderr).toMatch(nix ? /parse-checked 2 \.nix file/ : /not checked/);
      expect((await connection.run(['systemctl', 'is-active', 'mastodon-web'])).stdout).toBe('active\n');

      await connection.run(['systemctl', 'stop', 'mastodon-web.service']);
      expect((await connection.run(['systemctl', 'is-active', 'mastodon-web'], { check: false })).stdout).toBe('inactive\n');

      await connection.uploadFile('/etc/nixos/configuration.nix', '{ ... }: { system.stateVersion = "25.05"; networking.hostName = "social"; }\n');
      expect((await connection.run(rebuild)).stderr).toMatch(/recorded generation 2/);
      const generations = JSON.parse((await connection.run(['nixos-rebuild', 'list-generations', '--json'])).stdout);
      expect(generations.map((g: { generation: number; current: boolean }) => [g.generation, g.current])).toEqual([
        [1, false],
        [2, true],
      ]);
      expect(existsSync(join(guest.stateDir, 'generations', '2', 'configuration.nix'))).toBe(true);

      await connection.run(['nixos-rebuild', 'switch', '--rollback']);
      expect((await guest.readState()).currentGeneration).toBe(1);

      const missing = await connection.run(['nixos-rebuild', 'switch', '--flake', '/srv#x'], { check: false });
      expect(missing.stderr).toMatch(/path '\/srv\/flake.nix' does not exist/);

      // Without nix-instantiate nothing is parse-checked (warned about in beforeAll).
      if (!nix) return;
      await connection.uploadFile('/etc/nixos/configuration.nix', '{ ... }: { broken = ; }\n');
      const broken = await connection.run(rebuild, { check: false });
      expect(broken.exitCode).toBe(1);
      expect(broken.stderr).toMatch(/syntax error/);
      expect(broken.stderr).not.toContain(guest.rootDir);
      expect((await guest.readState()).generations).toHaveLength(2);
    } finally {
      connection.close();
    }
  }, 60_000);

  it.each(['pid', 'signal'] as const)('aborts a running command (kill mode %s)', async killMode => {
    const endpoint = await server.ensureGuest('ct-105');
    const connection = await connect(endpoint);
    try {
      const controller = new AbortController();
      const started = Date.now();
      // ssh2's server routes no channel requests to a session once exec has started, so the demo
      // host never sees signal requests; in that mode the client's close after the grace period
      // is what stops the command.
      const running = connection.exec(['sleep', '30'], { signal: controller.signal, killMode, killGraceMs: 300 });
      setTimeout(() => controller.abort(), 200);
      await expect(running).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect((await connection.run(['true'])).exitCode).toBe(0);
      // A guest cannot kill another guest's commands.
      const other = await connection.run(['kill', '-KILL', '--', '-1000'], { check: false });
      expect(other.exitCode).toBe(1);
    } finally {
      connection.close();
    }
  });
});
