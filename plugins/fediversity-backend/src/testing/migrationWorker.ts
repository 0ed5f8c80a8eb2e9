/**
 * A backend instance's job worker running the migration kind in its own process, for the crash tests:
 *   node -r @backstage/cli/config/nodeTransform.cjs migrationWorker.ts <config.json>
 * With `hangAfterStep`, it prints `STEP_EFFECT_DONE <step>` once that step's work is done but before the
 * engine records it, then hangs, so the test can SIGKILL it at the worst moment of that step.
 */
import { readFileSync } from 'node:fs';
import { PveClient, StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { JobEngine } from '../jobs/JobEngine';
import { JobStore } from '../jobs/JobStore';
import { JobKindRegistry } from '../jobs/registry';
import { sshHostConnector } from '../migration/hosts';
import { migrationJobKind } from '../migration/migrationJobKind';
import { proxmoxTargetBinder } from '../migration/targetBinding';
import { existingGuestProvisioner, SimulatedGuest } from './lateTarget';
import { FileDnsProvider } from './migrationFixtures';
import { openJobDatabase, quietLogger } from './migrationEngine';
import { SimulatorEndpoint, simulatorTransport } from './simulatorTransport';

export interface MigrationWorkerConfig {
  database: string;
  portalPrivateKey: string;
  dnsFile: string;
  leaseMs: number;
  owner: string;
  hangAfterStep?: string;
  /** A target the migration makes on a (simulated) real cluster: the PVE API and the guest it finds there. */
  lateTarget?: { pve: SimulatorEndpoint; guest: SimulatedGuest };
}

/** The provisioner and binder of a late-bound target, on the simulator the test started. */
function lateTargetDeps(late: NonNullable<MigrationWorkerConfig['lateTarget']>) {
  const client = new PveClient({ transport: simulatorTransport(late.pve) });
  const clusters = new StaticPveClusters([{ name: late.guest.cluster, client, demo: false }]);
  return {
    provisioner: existingGuestProvisioner(client, late.guest),
    binder: proxmoxTargetBinder(clusters, { pollInitialMs: 50, timeoutMs: 30_000 }),
  };
}

async function main() {
  const config: MigrationWorkerConfig = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const knex = await openJobDatabase(config.database);
  const dns = new FileDnsProvider(config.dnsFile);
  const kind = migrationJobKind({
    connect: sshHostConnector(async () => config.portalPrivateKey),
    dns: () => dns,
    retry: { maxAttempts: 3, initialDelayMs: 300, maxDelayMs: 1_000 },
    observeIntervalMs: 200,
    ...(config.lateTarget ? lateTargetDeps(config.lateTarget) : {}),
  });
  const steps = kind.steps.map(step =>
    step.name === config.hangAfterStep && !step.approvalGate
      ? {
          ...step,
          run: async (ctx: any) => {
            await step.run(ctx);
            process.stdout.write(`STEP_EFFECT_DONE ${step.name}\n`);
            return new Promise(() => {});
          },
        }
      : step,
  );
  const engine = new JobEngine({
    store: new JobStore(knex),
    kinds: new JobKindRegistry([{ ...kind, steps }]),
    logger: quietLogger,
    owner: config.owner,
    concurrency: 1,
    leaseMs: config.leaseMs,
    heartbeatMs: Math.floor(config.leaseMs / 3),
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
