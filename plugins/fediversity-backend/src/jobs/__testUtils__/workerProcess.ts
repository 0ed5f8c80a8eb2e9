/**
 * A backend instance's job worker in its own process, for the kill test:
 *   node -r @backstage/cli/config/nodeTransform.cjs workerProcess.ts <postgres-url> <owner> <lease-ms>
 * It prints `EFFECT_DONE <job id>` once a point-of-no-return step has taken effect, then hangs there, so
 * the test can SIGKILL it at the worst moment.
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import knexFactory from 'knex';
import { JobEngine } from '../JobEngine';
import { JobStore } from '../JobStore';
import { JobKindRegistry } from '../registry';
import { countingKinds } from './countingKinds';

const stderrLogger: LoggerService = {
  error: message => process.stderr.write(`error: ${message}\n`),
  warn: message => process.stderr.write(`warn: ${message}\n`),
  info: () => {},
  debug: () => {},
  child: () => stderrLogger,
};

async function main() {
  const [url, owner, leaseMs] = process.argv.slice(2);
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
  const kinds = countingKinds(knex, owner, {
    hangAfterEffect: async () => {
      process.stdout.write(`EFFECT_DONE\n`);
      await new Promise(() => {});
    },
  });
  const engine = new JobEngine({
    store: new JobStore(knex),
    kinds: new JobKindRegistry(kinds),
    logger: stderrLogger,
    owner,
    leaseMs: Number(leaseMs),
    heartbeatMs: Number(leaseMs) / 3,
  });
  process.stdout.write('READY\n');
  for (;;) {
    await engine.tick();
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

main().catch(error => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
