/**
 * Benchmark of self-service provisioning: one run of the fediversity-mastodon template (owner + domain only) through
 * the real scaffolder backend, against the PVE simulator at the embedded default's speed and a demo host.
 *
 *   npm run bench -- provision [--speed 4]
 *
 * Prints run_s (POST /v2/tasks to the task's end), simulated_tasks_s (the simulated durations of the Proxmox tasks
 * the run waited for; the first backup is enqueued, not awaited, and is left out, as are replication runs: the template
 * only creates the schedules), overhead_s (their difference;
 * target < 2 s) and api_calls (HTTP requests to the Proxmox API during the run, production client settings: the
 * task-wait backoff starts at 500 ms and grows by half). guest_rebuild_s is the time nixos-rebuild ran on the demo host
 * (it parse-checks every uploaded .nix file with one nix-instantiate run) and portal_overhead_s the overhead without it.
 * Every process of the machine shares its cores: report the figures with `uptime`'s load next to them.
 */
import { parseArgs } from 'node:util';
import { TASK_DURATIONS_MS } from '@fediversity/pve-simulator';
import { startProvisioningBackend } from '../plugins/scaffolder-fediversity/src/__testUtils__/provisioningBackend';

async function main() {
  const { values } = parseArgs({ options: { speed: { type: 'string', default: '4' } } });
  const speed = Number(values.speed);
  // Providers refresh once at startup and then stay quiet, so the call count is the run's own.
  const backend = await startProvisioningBackend({ speed, proxmoxRefreshSeconds: 3600 });
  try {
    // Warm-up: the template is in the catalog and the demo host server is up before timing starts.
    await backend.getJson('/api/catalog/entities/by-name/template/default/fediversity-mastodon');
    await backend.harness.guestAccess.clientKey(backend.harness.clusters.get('demo'));

    const callsBefore = backend.harness.transport.calls;
    const task = await backend.runTemplate('fediversity-mastodon', {
      owner: 'group:default/social-team',
      domain: 'social.bench.example.org',
    });
    const apiCalls = backend.harness.transport.calls - callsBefore;
    if (task.status !== 'completed') {
      throw new Error(`template run ${task.status}:\n${task.log.join('\n')}`);
    }

    const vmid = Number(/Guest (\d+) \(fdv-/.exec(task.log.join('\n'))?.[1]);
    const { client } = backend.harness;
    const tasks = (
      await Promise.all(
        (await client.listNodes()).map(node => client.listTasks(node.node, { vmid, source: 'all' })),
      )
    ).flat();
    const awaited = tasks.filter(t => t.type !== 'vzdump');
    const simulatedMs = awaited.reduce((sum, t) => sum + (TASK_DURATIONS_MS[t.type] ?? 5_000) / speed, 0);

    if (process.env.BENCH_LOG) console.log(task.log.join("\n"));
    console.log(`speed=${speed}`);
    console.log(`tasks=${awaited.map(t => t.type).join(',')}`);
    console.log(`run_s=${(task.durationMs / 1000).toFixed(2)}`);
    console.log(`simulated_tasks_s=${(simulatedMs / 1000).toFixed(2)}`);
    console.log(`overhead_s=${((task.durationMs - simulatedMs) / 1000).toFixed(2)}`);
    console.log(`api_calls=${apiCalls}`);
    // The guest's own work, not the portal's: on demo hosts nixos-rebuild parse-checks the uploaded .nix files.
    const rebuildSeconds = Number(/nixos-rebuild switch took ([\d.]+) s/.exec(task.log.join('\n'))?.[1] ?? 0);
    console.log(`guest_rebuild_s=${rebuildSeconds.toFixed(2)}`);
    console.log(`portal_overhead_s=${((task.durationMs - simulatedMs) / 1000 - rebuildSeconds).toFixed(2)}`);
  } finally {
    await backend.stop();
  }
}

main().then(
  () => process.exit(0),
  error => {
    console.error(error);
    process.exit(1);
  },
);
