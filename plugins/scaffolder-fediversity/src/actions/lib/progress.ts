import { LoggerService } from '@backstage/backend-plugin-api';

/**
 * Logs `message (Ns)` every `intervalMs` until stopped, so the task log never goes silent for long: UIs behind
 * load balancers give up after about a minute without output.
 */
export function startHeartbeat(logger: LoggerService, message: string, intervalMs = 25_000): () => void {
  const started = Date.now();
  const timer = setInterval(() => {
    logger.info(`${message} (${Math.round((Date.now() - started) / 1000)} s)`);
  }, intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
