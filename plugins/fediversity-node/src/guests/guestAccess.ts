import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  coreServices,
  createServiceFactory,
  createServiceRef,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { startDemoHosts, type DemoHosts } from '../demo';
import type { PveCluster } from '../proxmox';
import { loadOrCreateSshKeyPair, type SshKeyPair } from '../ssh/keys';

/** How the portal reaches a guest over SSH. */
export interface GuestSshEndpoint {
  host: string;
  port: number;
  username: string;
  /**
   * The host key, when it is known without asking the host (the demo host server's own key). Otherwise the
   * caller enrols it on first contact and records it.
   */
  hostKey?: string;
  /** `demo`: the demo host server's key; `tofu`: to be enrolled on first contact, recorded and shown. */
  trust: 'demo' | 'tofu';
}

/** Which SSH identity and endpoint belong to the guests of a cluster. */
export interface GuestAccess {
  /** The key pair the portal logs in with; its public half goes into the container at creation. */
  clientKey(cluster: PveCluster): Promise<SshKeyPair>;
  /**
   * Makes the guest reachable where that is the portal's business (a demo guest on the demo host server) and
   * says where it is. Idempotent. A real cluster's guest is reached at `ipv4`, so it needs one.
   */
  prepare(cluster: PveCluster, guest: { vmid: number; hostname: string; ipv4?: string }): Promise<GuestSshEndpoint>;
}

export interface GuestAccessOptions {
  /** Private key of the portal for real clusters (created on first use). */
  keyFile: string;
  /** Where the demo host server keeps its guests and keys. */
  demoDataDir: string;
  logger: LoggerService;
}

/**
 * Real clusters: root at the guest's address, port 22, with the portal's key. The embedded simulator's guests
 * are demo guests (`ct-<vmid>`) on a local demo host server, started on first use, so a template runs end to end
 * without machines or root.
 */
export class ClusterGuestAccess implements GuestAccess {
  private demoHosts?: Promise<DemoHosts>;
  private clientKeyPair?: Promise<SshKeyPair>;

  constructor(private readonly options: GuestAccessOptions) {}

  async clientKey(cluster: PveCluster): Promise<SshKeyPair> {
    if (cluster.demo) return (await this.demo()).clientKey;
    this.clientKeyPair ??= loadOrCreateSshKeyPair(this.options.keyFile, 'fediversity-portal');
    return this.clientKeyPair;
  }

  async prepare(
    cluster: PveCluster,
    guest: { vmid: number; hostname: string; ipv4?: string },
  ): Promise<GuestSshEndpoint> {
    if (!cluster.demo) {
      if (!guest.ipv4) throw new InputError(`Guest ${guest.vmid} on cluster ${cluster.name} has no known address`);
      return { host: guest.ipv4, port: 22, username: 'root', trust: 'tofu' };
    }
    const demo = await this.demo();
    const endpoint = await demo.server.ensureGuest(`ct-${guest.vmid}`, {
      hostname: guest.hostname,
      ipv4: guest.ipv4,
    });
    return { host: endpoint.host, port: endpoint.port, username: endpoint.username, hostKey: endpoint.hostKey, trust: 'demo' };
  }

  /** Stops the demo host server if it was started. */
  async stop(): Promise<void> {
    const demo = await this.demoHosts?.catch(() => undefined);
    await demo?.stop();
  }

  private demo(): Promise<DemoHosts> {
    if (!this.demoHosts) {
      this.demoHosts = startDemoHosts({ dataDir: this.options.demoDataDir, logger: this.options.logger });
      this.demoHosts.catch(() => {
        this.demoHosts = undefined;
      });
    }
    return this.demoHosts;
  }
}

/**
 * Root-scoped: one demo host server however many plugins ask (the scaffolder provisions guests, the fediversity
 * plugin migrates them). Tests replace it with their own factory.
 */
export const guestAccessServiceRef = createServiceRef<GuestAccess>({
  id: 'fediversity.guest-access',
  scope: 'root',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.rootLogger,
        lifecycle: coreServices.rootLifecycle,
      },
      factory({ config, logger, lifecycle }) {
        const dataRoot = config.getOptionalString('fediversity.dataDir');
        const base = dataRoot ? resolve(dataRoot) : join(tmpdir(), `fediversity-${process.getuid?.() ?? 'user'}`);
        const access = new ClusterGuestAccess({
          keyFile: resolve(config.getOptionalString('fediversity.ssh.privateKeyFile') ?? join(base, 'ssh', 'portal_ed25519')),
          demoDataDir: join(base, 'demo-hosts'),
          logger,
        });
        lifecycle.addShutdownHook(() => access.stop());
        return access;
      },
    }),
});
