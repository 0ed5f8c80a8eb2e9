/**
 * Migration benchmark: the same data set (default 512 MB in 2,000 files plus a 1,000,000-row table) moved
 * between two local "hosts" (sshd + own data root each, a real PostgreSQL primary) twice in one run:
 * once the naive way (stop the app and the database, copy everything host to host, start on the target),
 * once with the `instance.migrate` job (live sync, catch-up, quiesce, final delta, verify, promote).
 * A writer commits rows and writes files on the source throughout our migration.
 *
 *   npm run bench -- migration
 *   MIGRATION_BENCH_FILES=200 MIGRATION_BENCH_FILE_BYTES=256000 MIGRATION_BENCH_ROWS=100000 npm run bench -- migration
 *
 * Prints downtime_s, naive_downtime_s, downtime_ratio, throughput_ratio (initial sync vs a raw `ssh … cat`
 * pipe between the same hosts), lost_writes, plus the details behind them.
 * Targets: downtime_ratio ≤ 0.05, downtime_s ≤ 3 on 2 cores, throughput_ratio ≥ 0.7.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { knownHostsLine, pipeToPeerArgv, SshConnection } from '@fediversity/plugin-fediversity-node';
import { sshHostConnector } from '../plugins/fediversity-backend/src/migration/hosts';
import { migrationJobKind } from '../plugins/fediversity-backend/src/migration/migrationJobKind';
import { knownHostsPath, peerOf } from '../plugins/fediversity-backend/src/migration/rsync';
import { StrategyEnv } from '../plugins/fediversity-backend/src/migration/strategy';
import { migrationParamsSchema } from '../plugins/fediversity-backend/src/migration/params';
import { FILES_PATH, MigrationHosts, startMigrationHosts, tableHashes, treeHash } from '../plugins/fediversity-backend/src/testing/migrationHosts';
import { AppWriter, lostWrites, MemoryDnsProvider, migrationParams, seedSourceData } from '../plugins/fediversity-backend/src/testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, openJobDatabase } from '../plugins/fediversity-backend/src/testing/migrationEngine';

const FILES = Number(process.env.MIGRATION_BENCH_FILES ?? 2000);
const FILE_BYTES = Number(process.env.MIGRATION_BENCH_FILE_BYTES ?? 256_000);
const ROWS = Number(process.env.MIGRATION_BENCH_ROWS ?? 1_000_000);

function print(name: string, value: number | string) {
  process.stdout.write(`${name}=${typeof value === 'number' ? Number(value.toFixed(3)) : value}\n`);
}

async function connect(hosts: MigrationHosts, role: 'source' | 'target') {
  const host = hosts[role];
  return SshConnection.connect({
    host: '127.0.0.1',
    port: host.sshPort,
    username: hosts.username,
    hostKey: host.hostKeyFingerprint,
    privateKey: hosts.portalPrivateKey,
  });
}

/** Stop everything, copy everything host to host (rsync over ssh, run on the source), start on the target. */
async function naiveMigration(hosts: MigrationHosts, params: ReturnType<typeof migrationParamsSchema.parse>): Promise<number> {
  const source = await connect(hosts, 'source');
  const target = await connect(hosts, 'target');
  const env = { jobId: 'naive-benchmark-0000', params } as StrategyEnv;
  const peer = peerOf(env);
  await source.run(['tee', knownHostsPath(env.jobId)], { stdin: knownHostsLine(peer.host, peer.port, params.target.hostPublicKey) });
  const ssh = `ssh -p ${peer.port} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${peer.knownHostsFile} -i ${peer.identityFile}`;
  const pgCtl = join('/usr/lib/postgresql/15/bin', 'pg_ctl');
  const asPg = (argv: string[]) => (hosts.osUser === hosts.username ? argv : ['runuser', '-u', hosts.osUser, '--', ...argv]);
  const started = Date.now();
  await source.run([hosts.appctl, 'stop']);
  await source.run(asPg([pgCtl, '-D', hosts.source.pg.dataDir, '-m', 'fast', '-w', 'stop']));
  await target.run(['mkdir', '-p', join(hosts.target.root, FILES_PATH), hosts.target.pg.dataDir]);
  await Promise.all([
    source.run(['rsync', '-aH', '--numeric-ids', '-e', ssh, '--', `${join(hosts.source.root, FILES_PATH)}/`, `${hosts.username}@127.0.0.1:${join(hosts.target.root, FILES_PATH)}/`]),
    source.run(['rsync', '-aH', '--numeric-ids', '--exclude=postmaster.pid', '-e', ssh, '--', `${hosts.source.pg.dataDir}/`, `${hosts.username}@127.0.0.1:${hosts.target.pg.dataDir}/`]),
  ]);
  await target.run(asPg([pgCtl, '-D', hosts.target.pg.dataDir, '-l', join(hosts.target.root, 'var/lib/pg/naive.log'), '-w', '-o', `-p ${hosts.target.pg.port} -k ${hosts.target.pg.socketDir} -h 127.0.0.1`, 'start']));
  await target.run([hosts.appctl, 'start']);
  const downtime = (Date.now() - started) / 1000;
  // Undo, so our migration starts from the same place: the source serves again, the target is empty.
  await target.run(asPg([pgCtl, '-D', hosts.target.pg.dataDir, '-m', 'immediate', '-w', 'stop']));
  await target.run(['rm', '-rf', '--', hosts.target.pg.dataDir, join(hosts.target.root, '/srv'), join(hosts.target.root, 'run')]);
  hosts.pgStart(hosts.source);
  await source.run([hosts.appctl, 'start']);
  source.close();
  target.close();
  return downtime;
}

/** A raw `cat … | ssh target 'cat > file'` of the same files, run on the source host. */
async function rawPipeThroughput(hosts: MigrationHosts, params: ReturnType<typeof migrationParamsSchema.parse>, bytes: number) {
  const source = await connect(hosts, 'source');
  const env = { jobId: 'raw-pipe-benchmark-0000', params } as StrategyEnv;
  const peer = peerOf(env);
  await source.run(['tee', knownHostsPath(env.jobId)], { stdin: knownHostsLine(peer.host, peer.port, params.target.hostPublicKey) });
  const sink = join(hosts.target.root, 'raw-pipe.bin');
  const argv = pipeToPeerArgv(['find', join(hosts.source.root, FILES_PATH), '-type', 'f', '-exec', 'cat', '--', '{}', '+'], peer, ['sh', '-c', `cat > ${sink}`]);
  const started = Date.now();
  await source.run(argv);
  const seconds = (Date.now() - started) / 1000;
  await source.run(['rm', '-f', sink]);
  source.close();
  return { seconds, mbPerSecond: bytes / seconds / 1e6 };
}

async function main() {
  const hosts = await startMigrationHosts();
  const writer = new AppWriter(hosts);
  try {
    seedSourceData(hosts, { files: FILES, fileBytes: FILE_BYTES, rows: ROWS });
    const fileBytes = FILES * FILE_BYTES;
    const databaseBytes = Number(hosts.psql(hosts.source, 'SELECT sum(pg_database_size(oid)) FROM pg_database'));
    print('data_files', FILES);
    print('data_file_mb', fileBytes / 1e6);
    print('data_rows', ROWS);
    print('data_database_mb', databaseBytes / 1e6);
    print('cores', cpus().length);
    const input = migrationParams(hosts, { observeSeconds: 1 });
    const params = migrationParamsSchema.parse(input);

    const raw = await rawPipeThroughput(hosts, params, fileBytes);
    print('raw_pipe_mb_per_s', raw.mbPerSecond);

    const naive = await naiveMigration(hosts, params);

    const knex = await openJobDatabase();
    const dns = new MemoryDnsProvider();
    const kind = migrationJobKind({
      connect: sshHostConnector(async () => hosts.portalPrivateKey),
      dns: () => dns,
      retry: { maxAttempts: 3, initialDelayMs: 1_000, maxDelayMs: 5_000 },
      observeIntervalMs: 500,
    });
    const rig = migrationRig(knex, [kind]);
    await writer.start();
    const id = await createMigration(rig, input);
    const status = await driveToEnd(rig, id, { timeoutMs: 30 * 60_000 });
    await writer.stop();
    await kind.closeSessions();
    if (status !== 'succeeded') {
      process.stderr.write(`${await eventLog(rig, id)}\n`);
      throw new Error(`migration ${status}`);
    }
    if (process.env.MIGRATION_BENCH_LOG) {
      const events = await rig.store.listEvents(id, 0, 10_000);
      require('node:fs').writeFileSync(
        process.env.MIGRATION_BENCH_LOG,
        events.map(event => `${new Date(event.ts).toISOString()} ${event.step ?? '-'} ${event.message} ${JSON.stringify(event.fields ?? {})}`).join('\n'),
      );
    }
    const steps = await rig.store.getSteps(id);
    const step = (name: string) => steps.find(candidate => candidate.name === name)!;
    const downtime = (step('cut-over').output as { downtimeSeconds: number }).downtimeSeconds;
    const initial = step('initial-sync');
    const initialSeconds = (initial.finishedAt! - initial.startedAt!) / 1000;
    // Like for like with the raw pipe: the files' first pass alone (the database streams at the same time).
    const filesFirstPass = ((initial.output as Record<string, { seconds: number }>)['files:media']).seconds;
    const ourMbPerSecond = fileBytes / filesFirstPass / 1e6;
    const lost = lostWrites(hosts, hosts.target, writer);
    for (const name of ['quiesce', 'final-sync', 'verify', 'cut-over']) {
      const record = step(name);
      print(`step_${name.replace(/-/g, '_')}_s`, (record.finishedAt! - record.startedAt!) / 1000);
    }
    print('initial_sync_s', initialSeconds);
    print('initial_sync_all_data_mb_per_s', (fileBytes + databaseBytes) / initialSeconds / 1e6);
    print('initial_sync_files_s', filesFirstPass);
    print('initial_sync_files_mb_per_s', ourMbPerSecond);
    print('acknowledged_writes', writer.acknowledged);
    const equalTrees = treeHash(join(hosts.target.root, FILES_PATH)) === treeHash(join(hosts.source.root, FILES_PATH));
    const targetHashes = tableHashes(hosts, hosts.target);
    hosts.pgStart(hosts.source);
    const equalTables = JSON.stringify(targetHashes) === JSON.stringify(tableHashes(hosts, hosts.source));
    hosts.pgStop(hosts.source);
    print('trees_equal', String(equalTrees));
    print('tables_equal', String(equalTables));
    print('downtime_s', downtime);
    print('naive_downtime_s', naive);
    print('downtime_ratio', downtime / naive);
    print('throughput_ratio', ourMbPerSecond / raw.mbPerSecond);
    print('lost_writes', lost.length);
    await knex.destroy();
  } finally {
    await writer.stop().catch(() => undefined);
    await hosts.stop();
  }
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
