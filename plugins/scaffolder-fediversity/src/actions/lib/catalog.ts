import { BackstageCredentials, LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { abortableSleep } from '@fediversity/plugin-fediversity-common';

/** Longest pause between reads of the local catalog while a step waits for its entity. */
export const CATALOG_POLL_MAX_MS = 500;

/**
 * Waits until the catalog has an entity (a provider emits it on its next refresh, then the catalog processes it),
 * backing off from `pollInitialMs` by half up to `maxIntervalMs` (default 5 s) and saying so in the log.
 */
export async function waitForEntity(
  catalog: Pick<CatalogService, 'getEntityByRef'>,
  entityRef: string,
  options: {
    credentials: BackstageCredentials;
    timeoutMs: number;
    pollInitialMs: number;
    maxIntervalMs?: number;
    logger: LoggerService;
    signal?: AbortSignal;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.pollInitialMs;
  let logged = false;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await catalog.getEntityByRef(entityRef, { credentials: options.credentials })) return;
    if (Date.now() + interval > deadline) {
      throw new NotFoundError(
        `${entityRef} did not appear in the catalog within ${Math.round(options.timeoutMs / 1000)} s; ` +
          'check the fediversity instance provider in the catalog logs',
      );
    }
    if (!logged) {
      options.logger.info(`Waiting for ${entityRef} to appear in the catalog`);
      logged = true;
    }
    await abortableSleep(interval, options.signal);
    interval = Math.min(options.maxIntervalMs ?? 5_000, Math.round(interval * 1.5));
  }
}
