import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Knex } from 'knex';
import { FILES_PATH, MigrationHosts, startMigrationHosts, tableHashes, tableHashesOfStopped, treeHash } from '../testing/migrationHosts';
import { AppWriter, FileDnsProvider, lostWrites, migrationParams, seedSourceData } from '../testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, openJobDatabase } from '../testing/migrationEngine';
import { MigrationWorkerConfig } from '../testing/migrationWorker';
import { migrationJobKind } from './migrationJobKind';
import { PveSimulator, startPveSimulator } from '@fediversity/pve-simulator';
import { simulatorCluster } from '../proxmox/__testUtils__/simulatorCluster';
import { createTargetGuest, lateTargetParams } from '../testing/lateTarget';

/**
 * Crash safety: the engine runs the migration in a child process that is SIGKILLed at each step in turn,
 * right after the step's effect happened and before the engine recorded it (the worst moment); a new
 * process takes the job over when the lease expires. Every run must end completed (target equal to the
 * source, every acknowledged write there) or rolled back (source serving, untouched).
 */
jest.setTimeout(300_000);

const STEPS = ['preflight', 'provision-target', 'initial-sync', 'catch-up', 'quiesce', 'final-sync', 'verify', 'cut-over', 'observe'];
const LEASE_MS = 2_000;
const workers: ChildProcess[] = [];

afterEach(() => {
  for (const worker of workers.splice(0)) if (worker.exitCode === null) worker.kill('SIGKILL');
});

function startWorker(dir: string, config: MigrationWorkerConfig): { child: ChildProcess; hung: Promise<string> } {
  const file = join(dir, `${config.owner}.json`);
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('@backstage/cli/config/nodeTransform.cjs'), join(__dirname, '../testing/migrationWorker.ts'), file],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  workers.push(child);
  let stderr = '';
  child.stderr!.on('data', chunk => (stderr += chunk.toString()));
  const hung = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', chunk => {
      out += chunk.toString();
      const match = /STEP_EFFECT_DONE (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', code => reject(new Error(`worker exited with ${code}: ${stderr}`)));
  });
  hung.catch(() => undefined);
  return { child, hung };
}

/**
 * Starts the migration, lets a worker hang right after `killedStep`'s effect, SIGKILLs it, lets a second
 * worker take the job over, and checks the outcome: completed with the target equal to the source, or
 * rolled back with the source serving, never with an acknowledged write lost.
 */
async function killAndTakeOver(
  hosts: MigrationHosts,
  knex: Knex,
  killedStep: string,
  options: { params: Record<string, unknown>; lateTarget?: MigrationWorkerConfig['lateTarget']; dnsAddress: string },
) {
  seedSourceData(hosts, { files: 100, fileBytes: 8_192, rows: 5_000 });
  const dnsFile = join(hosts.dir, 'dns.json');
  const base = { database: join(hosts.dir, 'jobs.sqlite'), portalPrivateKey: hosts.portalPrivateKey, dnsFile, leaseMs: LEASE_MS, lateTarget: options.lateTarget };
  const rig = migrationRig(knex, [], { engine: false });
  // The API side only creates and approves; the kind is registered for parameter validation.
  const apiRig = migrationRig(knex, [migrationJobKind({ connect: async () => { throw new Error('API only'); } })], { engine: false });
  const writer = new AppWriter(hosts);
  await writer.start();
  try {
    const id = await createMigration(apiRig, options.params);
    const first = startWorker(hosts.dir, { ...base, owner: 'worker-1', hangAfterStep: killedStep });
    const hungAt = await Promise.race([
      first.hung,
      driveToEnd(apiRig, id, { stopAt: () => false }).then(status => `ended ${status}`),
    ]);
    expect(hungAt).toBe(killedStep);
    first.child.kill('SIGKILL');
    startWorker(hosts.dir, { ...base, owner: 'worker-2' });
    const status = await driveToEnd(apiRig, id, { timeoutMs: 240_000 });
    await writer.stop();
    const log = await eventLog(rig, id);
    expect(log).toMatch(/taken over by worker-2|Claimed by worker-2/);
    // Completed, the target serves; rolled back, the source does. Either way no acknowledged write is lost.
    expect(lostWrites(hosts, status === 'succeeded' ? hosts.target : hosts.source, writer)).toEqual([]);
    // A rollback is safe but not expected at any of these crash points: the event log shows why it happened.
    expect({ status, log }).toMatchObject({ status: 'succeeded' });

    expect(treeHash(join(hosts.target.root, FILES_PATH))).toBe(treeHash(join(hosts.source.root, FILES_PATH)));
    expect(tableHashesOfStopped(hosts, hosts.source)).toEqual(tableHashes(hosts, hosts.target));
    const dns = await new FileDnsProvider(dnsFile).listRecords('example.test', 'app');
    expect(dns[0]?.values).toEqual([options.dnsAddress]);
    return log;
  } finally {
    await writer.stop().catch(() => undefined);
  }
}

describe.each(STEPS)('SIGKILL after the effect of %s', killedStep => {
  let hosts: MigrationHosts;
  let knex: Knex;

  beforeAll(async () => {
    hosts = await startMigrationHosts({ fsync: false });
    knex = await openJobDatabase(join(hosts.dir, 'jobs.sqlite'));
  });

  afterAll(async () => {
    await knex?.destroy();
    await hosts?.stop();
  });

  it('ends completed or rolled back, never with lost or diverged data', async () => {
    const log = await killAndTakeOver(hosts, knex, killedStep, { params: migrationParams(hosts), dnsAddress: '192.0.2.20' });
    expect(log).toContain('Migration complete');
  });
});

/** A target the migration makes on a real cluster: a crash after its binding, and after the next step. */
describe.each(['provision-target', 'initial-sync'])('SIGKILL after the effect of %s, target bound after provisioning', killedStep => {
  let hosts: MigrationHosts;
  let knex: Knex;
  let simulator: PveSimulator;
  let close: () => void;

  beforeAll(async () => {
    hosts = await startMigrationHosts({ fsync: false });
    knex = await openJobDatabase(join(hosts.dir, 'jobs.sqlite'));
    simulator = await startPveSimulator({ speed: 50, authFailureDelayMs: 0 });
  });

  afterAll(async () => {
    close?.();
    await simulator?.close();
    await knex?.destroy();
    await hosts?.stop();
  });

  it('binds the target once and ends completed, never with lost or diverged data', async () => {
    const made = simulatorCluster(simulator, 'pve', false);
    close = made.close;
    const guest = await createTargetGuest(made.cluster.client, hosts);
    const pve = { url: simulator.url, token: simulator.token, fingerprint: simulator.fingerprint };
    const log = await killAndTakeOver(hosts, knex, killedStep, {
      params: lateTargetParams(hosts, guest),
      lateTarget: { pve, guest },
      dnsAddress: hosts.target.address,
    });
    // The key pinned before the crash is the one used after it: bound once, never asked again.
    expect(log.match(/Trust on first use/g)).toHaveLength(1);
    expect(log).toContain(`presented host key ${hosts.target.hostKeyFingerprint}`);
  });
});
