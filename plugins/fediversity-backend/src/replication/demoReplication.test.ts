import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostSpec } from '@fediversity/plugin-fediversity-common';
import {
  DemoGuest,
  DemoHostServer,
  defaultDemoCommands,
  generateSshKeyPair,
  GuestAccess,
  PveCluster,
  PveClustersService,
  SshConnection,
} from '@fediversity/plugin-fediversity-node';
import { sshHostConnector, trustPeer, ConnectedHost } from './hosts';
import { replicateFiles, FilesReplicationOptions } from './rsync';
import { replicationPrivateKey } from './sshKey';
import { treeHash } from './__testUtils__/treeHash';

// A real demo host server (SSH on loopback) and the real rsync on a shared machine: allow for load.
jest.setTimeout(120_000);

const PEER_IDENTITY = '/root/.ssh/fediversity-replication-peer';
const SOURCE_PATH = '/var/lib/app';
const TARGET_ROOT = '/var/lib/fediversity-replicas/app';

/*
 * The embedded default's replication path: a files schedule from a provisioned demo guest to the demo replica
 * guest `ct-99`, run by the replication code as production runs it (SSH with the portal's demo key, `sh -c` fixed
 * scripts, rsync host to host with --mkpath and --link-dest), against the demo host server instead of machines.
 */
describe('files replication between demo guests', () => {
  let dataDir: string;
  let server: DemoHostServer;
  let sourceGuest: DemoGuest;
  let targetGuest: DemoGuest;
  let source: ConnectedHost;
  let target: ConnectedHost;
  let sourceSpec: HostSpec;
  let targetSpec: HostSpec;
  const portalKey = generateSshKeyPair('fediversity-portal-demo');
  let clock = Date.parse('2026-11-26T03:00:00Z');

  const inSource = (path: string) => join(sourceGuest.rootDir, path);
  const inTarget = (path: string) => join(targetGuest.rootDir, path);
  const spec = (endpoint: { host: string; port: number; username: string; hostKey: string }): HostSpec => ({
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.username,
    hostPublicKey: endpoint.hostKey.split(' ').slice(0, 2).join(' '),
  });

  const run = async (runId: string, extra: Partial<FilesReplicationOptions> = {}) => {
    const { peer, cleanup } = await trustPeer({ runner: source.runner, spec: sourceSpec }, targetSpec, runId);
    try {
      return await replicateFiles({
        source: source.runner,
        sourcePath: SOURCE_PATH,
        target: target.runner,
        targetRoot: TARGET_ROOT,
        peer,
        livePass: true,
        keepGenerations: 2,
        now: () => (clock += 60_000),
        ...extra,
      });
    } finally {
      await cleanup();
    }
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fediversity-demo-replication-'));
    server = await DemoHostServer.start({ dataDir, authorizedKey: portalKey.publicKey, commands: defaultDemoCommands() });
    sourceSpec = spec(await server.ensureGuest('ct-101'));
    targetSpec = spec(await server.ensureGuest('ct-99', { hostname: 'replica' }));
    sourceGuest = await server.guest('ct-101');
    targetGuest = await server.guest('ct-99');

    // The key the module falls back to on the embedded default: the demo cluster's client key.
    const demoCluster = { name: 'demo', demo: true } as PveCluster;
    const clusters: PveClustersService = { list: () => [demoCluster], get: () => demoCluster };
    const guestAccess: GuestAccess = {
      clientKey: async cluster => {
        expect(cluster).toBe(demoCluster);
        return portalKey;
      },
      prepare: async () => {
        throw new Error('not used');
      },
    };
    const connect = sshHostConnector(replicationPrivateKey({ clusters, guestAccess }));
    source = await connect(sourceSpec, new AbortController().signal);
    target = await connect(targetSpec, new AbortController().signal);

    await mkdir(inSource('var/lib/app/media'), { recursive: true });
    for (let i = 0; i < 12; i++) await writeFile(inSource(`var/lib/app/media/f${i}`), randomBytes(8 * 1024 + i));
    await writeFile(inSource('var/lib/app/db.json'), '{"version":1}');
    // The source guest's identity for the host-to-host push, accepted by the replica (as a migration plan does).
    const peerKey = generateSshKeyPair('fediversity-replication-peer');
    const login = (guestSpec: HostSpec) =>
      SshConnection.connect({ ...guestSpec, hostKey: server.endpoint(guestSpec.username).hostKeyFingerprint, privateKey: portalKey.privateKey });
    const sourceLogin = await login(sourceSpec);
    const targetLogin = await login(targetSpec);
    await sourceLogin.uploadFile(PEER_IDENTITY, peerKey.privateKey, { mode: 0o600, mkdirs: true });
    await targetLogin.uploadFile('/root/.ssh/authorized_keys', `${peerKey.publicKey}\n`, { mode: 0o600, mkdirs: true });
    sourceLogin.close();
    targetLogin.close();
    sourceSpec = { ...sourceSpec, peerIdentityFile: PEER_IDENTITY };
  });

  afterAll(async () => {
    source?.close();
    target?.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('publishes generations with equal content, hard-links unchanged files and prunes old generations', async () => {
    const first = await run('run-1');
    expect(first.generation).toMatch(/^gen-/);
    expect(await readlink(inTarget(`${TARGET_ROOT}/current`))).toBe(first.generation);
    expect(treeHash(inTarget(`${TARGET_ROOT}/${first.generation}`))).toBe(treeHash(inSource(SOURCE_PATH)));
    expect(first.removedGenerations).toEqual([]);
    // The peer's known_hosts file was written privately and removed after the run.
    expect(await readdir(inSource('tmp'))).toEqual([]);

    await writeFile(inSource('var/lib/app/db.json'), '{"version":"two"}');
    const second = await run('run-2');
    expect(second.generation > first.generation).toBe(true);
    expect(await readlink(inTarget(`${TARGET_ROOT}/current`))).toBe(second.generation);
    expect(treeHash(inTarget(`${TARGET_ROOT}/current`))).toBe(treeHash(inSource(SOURCE_PATH)));
    const inode = async (generation: string, file: string) => (await stat(inTarget(`${TARGET_ROOT}/${generation}/${file}`))).ino;
    // Unchanged files are hard links into the previous generation (--link-dest); the changed one is a new copy.
    expect(await inode(second.generation, 'media/f3')).toBe(await inode(first.generation, 'media/f3'));
    expect(await inode(second.generation, 'db.json')).not.toBe(await inode(first.generation, 'db.json'));
    expect(await readFile(inTarget(`${TARGET_ROOT}/${first.generation}/db.json`), 'utf8')).toBe('{"version":1}');

    const third = await run('run-3');
    expect(third.removedGenerations).toEqual([first.generation]);
    expect((await readdir(inTarget(TARGET_ROOT))).sort()).toEqual(['current', second.generation, third.generation].sort());
    expect(existsSync(inTarget(`${TARGET_ROOT}/${first.generation}`))).toBe(false);
    expect(treeHash(inTarget(`${TARGET_ROOT}/current`))).toBe(treeHash(inSource(SOURCE_PATH)));
  });
});
