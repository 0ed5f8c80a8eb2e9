import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  PveClient,
  PveCluster,
  pveClustersServiceRef,
  StaticPveClusters,
} from '@fediversity/plugin-fediversity-node';
import { readPveClusterConfigs } from './config';
import { EmbeddedSimulator, startEmbeddedSimulator } from './embeddedSimulator';

/**
 * Provides the Proxmox clusters to every plugin. With `fediversity.proxmox.clusters` configured it connects to
 * those; without, it starts the PVE simulator in-process on loopback with the demo topology and talks to it through
 * the same client (HTTPS, pinned fingerprint, API token), stopping it on shutdown.
 */
export function createPveClustersServiceFactory(
  options: { startSimulator?: () => Promise<EmbeddedSimulator> } = {},
) {
  return createServiceFactory({
    service: pveClustersServiceRef,
    initialization: 'lazy',
    deps: {
      config: coreServices.rootConfig,
      logger: coreServices.rootLogger,
      lifecycle: coreServices.rootLifecycle,
    },
    async factory({ config, logger, lifecycle }) {
      const configured = readPveClusterConfigs(config);
      if (configured.length) {
        logger.info(
          `Proxmox clusters from configuration: ${configured
            .map(c => `${c.name} (${new URL(c.url).host})`)
            .join(', ')}`,
        );
        return new StaticPveClusters(
          configured.map(
            (c): PveCluster => ({
              name: c.name,
              demo: false,
              client: PveClient.connect({
                url: c.url,
                tokenId: c.tokenId,
                tokenSecret: c.tokenSecret,
                caPem: c.caPem,
                fingerprint: c.fingerprint,
              }),
            }),
          ),
        );
      }

      const simulator = await (options.startSimulator ?? startEmbeddedSimulator)();
      lifecycle.addShutdownHook(() => simulator.close());
      logger.info(
        `No fediversity.proxmox configuration: using the embedded PVE simulator (cluster ${simulator.cluster.name}) at ${simulator.url}`,
      );
      return new StaticPveClusters([simulator.cluster]);
    },
  });
}

/** The factory the portal backend installs: `backend.add(pveClustersServiceFactory)`. */
export const pveClustersServiceFactory = createPveClustersServiceFactory();
