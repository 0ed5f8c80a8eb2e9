/**
 * Migration benchmark: the same data set (default 512 MB in 2,000 files plus a 1,000,000-row table) moved
 * between two local "hosts" (sshd + own data root each, a real PostgreSQL primary; as root each host is
 * a network namespace on a bridge, else both are on loopback ports: `network=` says which; as root each
 * host's root is an ext4 image of its own, loop-mounted with direct I/O, else a directory: `host_filesystems=` says which)
 * twice in one run:
 * once the naive way (stop the app and the database, copy everything host to host, start on the target),
 * once with the `instance.migrate` job (live sync, catch-up, quiesce, final delta, verify, promote).
 * A writer commits rows and writes files on the source throughout our migration. The app (that writer, its
 * stop and start) and the client that makes the first write after a cut-over run in a process of their own
 * (support/migrationApp.ts), as they would in production, not in the portal's event loop.
 *
 *   npm run bench -- migration
 *   MIGRATION_BENCH_FILES=200 MIGRATION_BENCH_FILE_BYTES=256000 MIGRATION_BENCH_ROWS=100000 npm run bench -- migration
 *
 * Both downtimes run from the moment the app is told to stop on the source until the first write is
 * acknowledged on the target (after the app started there). Prints downtime_s, naive_downtime_s,
 * downtime_ratio, throughput_ratio (the initial sync's rate, all its data — files and the database at its
 * size — over its duration, vs a raw `ssh … cat` pipe of the files between the same hosts with the same
 * cipher, the median of three; also the files' pass alone, which shares the cores with the base backup, and
 * both vs plain ssh's default cipher), lost_writes, and where our window goes: downtime_{quiesce,final_sync,verify,cut_over,
 * first_write}_s (each from its step's start to the next one's, so they add up to downtime_s) plus the
 * strategies' own timings inside the final sync and the verify, PostgreSQL's own part from its logs
 * (downtime_postgres_shutdown_s: the source's fast shutdown request to its shutdown checkpoint's end;
 * downtime_postgres_promotion_s: the target's promote request to its first writable moment), and downtime_cpu_busy_share and
 * initial_sync_cpu_busy_share (the share of all cores busy during the window, and during the initial sync), and
 * host_durable_rename_ms_{source,target} (a file written, fsync'd and renamed durably on each host's filesystem
 * just before our migration: what each of the switchover's journal commits costs on this machine).
 * Targets: downtime_ratio ≤ 0.05, downtime_s ≤ 3 on 2 cores, throughput_ratio ≥ 0.7.
 * MIGRATION_BENCH_LOG=<file> writes the job's event log with timestamps; MIGRATION_BENCH_JOB_DB=<file> keeps the
 * job store there (default: a SQLite file in the hosts' directory; `:memory:` for none); MIGRATION_BENCH_PG_LOGS=<dir>
 * keeps both clusters' logs (<dir>/source, <dir>/target), whose ms timestamps show the database's part of the window.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { knownHostsLine, SshConnection, sshArgv, toCommandLine } from '@fediversity/plugin-fediversity-node';
import { sshHostConnector } from '../plugins/fediversity-backend/src/migration/hosts';
import { migrationJobKind } from '../plugins/fediversity-backend/src/migration/migrationJobKind';
import { jobDirectory, knownHostsPath, PEER_CIPHERS, peerOf } from '../plugins/fediversity-backend/src/migration/rsync';
import { StrategyEnv } from '../plugins/fediversity-backend/src/migration/strategy';
import { migrationParamsSchema } from '../plugins/fediversity-backend/src/migration/params';
import { FILES_PATH, MigrationHosts, startMigrationHosts, tableHashes, treeHash } from '../plugins/fediversity-backend/src/testing/migrationHosts';
import { lostWrites, MemoryDnsProvider, migrationParams, seedSourceData } from '../plugins/fediversity-backend/src/testing/migrationFixtures';
import { createMigration, driveToEnd, eventLog, migrationRig, openJobDatabase } from '../plugins/fediversity-backend/src/testing/migrationEngine';
import { AppProcess, FIRST_WRITE_TABLE } from './support/migrationApp';
import { median } from './support/median';
import { print } from './support/print';

const FILES = Number(process.env.MIGRATION_BENCH_FILES ?? 2000);
const FILE_BYTES = Number(process.env.MIGRATION_BENCH_FILE_BYTES ?? 256_000);
const ROWS = Number(process.env.MIGRATION_BENCH_ROWS ?? 1_000_000);
/** Each host's own filesystem (a sparse image: only what is written takes space): both copies of the data and WAL. */
const HOST_FS_BYTES = Math.max(8e9, 8 * (FILES * FILE_BYTES + ROWS * 200));

/**
 * The machine's CPU use over time (/proc/stat every 5 ms), for the share of both cores busy during the
 * window or the initial sync: near 1, it waits for CPU more than for anything else (so more streams or
 * processes would not make it faster).
 */
function cpuSampler() {
  const samples: Array<{ at: number; total: number; idle: number }> = [];
  const read = () => {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    samples.push({ at: Date.now(), total: fields.reduce((sum, value) => sum + value, 0), idle: fields[3] + fields[4] });
  };
  const timer = setInterval(read, 5);
  return {
    /** Ends the sampling; the samples taken so far stay. */
    stop: () => clearInterval(timer),
    busyShare(from: number, to: number): number | undefined {
      const inside = samples.filter(sample => sample.at >= from && sample.at <= to);
      if (inside.length < 2) return undefined;
      const [first, last] = [inside[0], inside[inside.length - 1]];
      return 1 - (last.idle - first.idle) / (last.total - first.total);
    },
  };
}

/**
 * What a durable file replacement costs on a host's filesystem right now: the median of 30 rounds of a new
 * 8 KB file written and fsync'd, renamed over the last one and its directory fsync'd, as PostgreSQL replaces
 * its timeline history and replication slot files. Each round commits the filesystem's journal, as about 16
 * of the 35 fsyncs on the switchover's path do (1–6 ms each, traced in one run): what that path pays here.
 */
function durableRenameMs(root: string): number {
  const directory = join(root, 'bench-durable');
  mkdirSync(directory, { recursive: true });
  const block = Buffer.alloc(8192, 1);
  const rounds: number[] = [];
  try {
    for (let round = 0; round < 30; round++) {
      const started = process.hrtime.bigint();
      const fd = openSync(join(directory, 'state.tmp'), 'w');
      writeSync(fd, block);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(join(directory, 'state.tmp'), join(directory, 'state'));
      const directoryFd = openSync(directory, 'r');
      fsyncSync(directoryFd);
      closeSync(directoryFd);
      rounds.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return median(rounds);
}

/** A test host's PostgreSQL log files (pg_ctl -l writes them next to the data directory). */
function postgresLogFiles(root: string): string[] {
  const directory = join(root, 'var/lib/pg');
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter(file => file.endsWith('.log'))
    .map(file => join(directory, file));
}

/**
 * A host's PostgreSQL log lines between `from` and `to` (ms since the epoch), from its logs' default prefix
 * (`%m [%p] `, UTC as initdb sets log_timezone here); none where the timestamps are in another zone.
 */
function postgresLog(root: string, from: number, to: number): Array<{ at: number; message: string }> {
  const lines: Array<{ at: number; message: string }> = [];
  for (const file of postgresLogFiles(root)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) (?:UTC|GMT) \[\d+\] (.*)$/.exec(line);
      const at = match ? Date.parse(`${match[1]}T${match[2]}Z`) : NaN;
      if (match && at >= from && at <= to) lines.push({ at, message: match[3] });
    }
  }
  return lines.sort((a, b) => a.at - b.at);
}

async function connect(hosts: MigrationHosts, role: 'source' | 'target') {
  const host = hosts[role];
  return SshConnection.connect({
    host: host.address,
    port: host.sshPort,
    username: hosts.username,
    hostKey: host.hostKeyFingerprint,
    privateKey: hosts.portalPrivateKey,
  });
}

/**
 * The naive way the issue names: stop the app and the database, copy everything (the files and the
 * database's data directory, WAL included) with an ordinary tool, start the database and the app on the
 * target. Measured like ours: from the moment the app is told to stop on the source until the first write
 * is acknowledged on the target (`AppProcess.firstWrite`). To be neither artificially slow nor fast it copies
 * with plain `rsync -aH` (no -c, no verify pass, into empty directories), run on the source host and pushed
 * over the same ssh transport our job uses (same pinned key, same cipher list), files and database in
 * parallel as two streams (our first pass uses two as well); `pg_ctl stop -m fast` without a CHECKPOINT
 * beforehand and `pg_ctl start -w`, as an operator would type them.
 */
async function naiveMigration(hosts: MigrationHosts, params: ReturnType<typeof migrationParamsSchema.parse>, app: AppProcess): Promise<number> {
  const source = await connect(hosts, 'source');
  const target = await connect(hosts, 'target');
  const env = { jobId: 'naive-benchmark-0000', params } as StrategyEnv;
  const peer = peerOf(env);
  await source.run(['mkdir', '-p', '-m', '0700', '--', jobDirectory(env.jobId)]);
  await source.run(['tee', knownHostsPath(env.jobId)], { stdin: knownHostsLine(peer.host, peer.port, params.target.hostPublicKey) });
  const ssh = `ssh -p ${peer.port} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${peer.knownHostsFile} -i ${peer.identityFile} -o Ciphers=${PEER_CIPHERS}`;
  const pgCtl = join('/usr/lib/postgresql/15/bin', 'pg_ctl');
  const asPg = (argv: string[]) => (hosts.osUser === hosts.username ? argv : ['runuser', '-u', hosts.osUser, '--', ...argv]);
  const started = Date.now();
  const firstWrite = app.firstWrite();
  try {
    await source.run([hosts.appctl, 'stop']);
    await source.run(asPg([pgCtl, '-D', hosts.source.pg.dataDir, '-m', 'fast', '-w', 'stop']));
    await target.run(['mkdir', '-p', join(hosts.target.root, FILES_PATH), hosts.target.pg.dataDir]);
    await Promise.all([
      source.run(['rsync', '-aH', '--numeric-ids', '-e', ssh, '--', `${join(hosts.source.root, FILES_PATH)}/`, `${hosts.username}@${hosts.target.address}:${join(hosts.target.root, FILES_PATH)}/`]),
      source.run(['rsync', '-aH', '--numeric-ids', '--exclude=postmaster.pid', '-e', ssh, '--', `${hosts.source.pg.dataDir}/`, `${hosts.username}@${hosts.target.address}:${hosts.target.pg.dataDir}/`]),
    ]);
    await target.run(asPg([pgCtl, '-D', hosts.target.pg.dataDir, '-l', join(hosts.target.root, 'var/lib/pg/naive.log'), '-w', '-o', `-p ${hosts.target.pg.port} -k ${hosts.target.pg.socketDir} -h ${hosts.target.address}`, 'start']));
    await target.run([hosts.appctl, 'start']);
  } catch (error) {
    firstWrite.stop();
    await firstWrite.at.catch(() => undefined);
    throw error;
  }
  const downtime = ((await firstWrite.at) - started) / 1000;
  // Undo, so our migration starts from the same place: the source serves again, the target is empty.
  await target.run(asPg([pgCtl, '-D', hosts.target.pg.dataDir, '-m', 'immediate', '-w', 'stop']));
  await target.run(['rm', '-rf', '--', hosts.target.pg.dataDir, join(hosts.target.root, '/srv'), join(hosts.target.root, 'run')]);
  hosts.pgStart(hosts.source);
  await source.run([hosts.appctl, 'start']);
  await source.run(['rm', '-rf', '--', jobDirectory(env.jobId)]);
  source.close();
  target.close();
  return downtime;
}

/**
 * A raw `find … -exec cat | ssh target 'cat > file'` of the same files, run on the source host: the
 * throughput reference. By default with the cipher list our rsync passes use (AES-GCM first), so the ratio
 * compares the copying method, not the cipher; `defaultCipher` measures plain ssh as typed (ChaCha20 first).
 */
async function rawPipeThroughput(
  hosts: MigrationHosts,
  params: ReturnType<typeof migrationParamsSchema.parse>,
  bytes: number,
  options: { defaultCipher?: boolean } = {},
) {
  const source = await connect(hosts, 'source');
  const env = { jobId: 'raw-pipe-benchmark-0000', params } as StrategyEnv;
  const peer = peerOf(env);
  await source.run(['mkdir', '-p', '-m', '0700', '--', jobDirectory(env.jobId)]);
  await source.run(['tee', knownHostsPath(env.jobId)], { stdin: knownHostsLine(peer.host, peer.port, params.target.hostPublicKey) });
  const sink = join(hosts.target.root, 'raw-pipe.bin');
  const producer = ['find', join(hosts.source.root, FILES_PATH), '-type', 'f', '-exec', 'cat', '--', '{}', '+'];
  const consumer = sshArgv(peer, ['sh', '-c', `cat > ${sink}`]);
  if (!options.defaultCipher) consumer.splice(1, 0, '-o', `Ciphers=${PEER_CIPHERS}`);
  const argv = ['bash', '-o', 'pipefail', '-c', `${toCommandLine(producer)} | ${toCommandLine(consumer)}`];
  const started = Date.now();
  await source.run(argv);
  const seconds = (Date.now() - started) / 1000;
  await source.run(['rm', '-rf', '--', sink, jobDirectory(env.jobId)]);
  source.close();
  return { seconds, mbPerSecond: bytes / seconds / 1e6 };
}

async function main() {
  const hosts = await startMigrationHosts({ ownFilesystemBytes: HOST_FS_BYTES });
  const app = AppProcess.start({
    source: { root: hosts.source.root, pg: hosts.source.pg },
    target: { root: hosts.target.root, pg: hosts.target.pg },
    osUser: hosts.osUser,
  });
  try {
    seedSourceData(hosts, { files: FILES, fileBytes: FILE_BYTES, rows: ROWS });
    hosts.psql(hosts.source, `CREATE TABLE ${FIRST_WRITE_TABLE} (at timestamptz NOT NULL)`);
    const fileBytes = FILES * FILE_BYTES;
    const databaseBytes = Number(hosts.psql(hosts.source, 'SELECT sum(pg_database_size(oid)) FROM pg_database'));
    print('data_files', FILES);
    print('data_file_mb', fileBytes / 1e6);
    print('data_rows', ROWS);
    print('data_database_mb', databaseBytes / 1e6);
    // What the naive copy moves for the database: the whole data directory, WAL segments included.
    print('data_database_dir_mb', Number(execFileSync('du', ['-sb', hosts.source.pg.dataDir]).toString().split('\t')[0]) / 1e6);
    print('cores', cpus().length);
    print('network', hosts.network);
    print('host_filesystems', hosts.filesystems);
    const input = migrationParams(hosts, { observeSeconds: 1 });
    const params = migrationParamsSchema.parse(input);

    // The pipe's rate swings from run to run (145–740 MB/s seen on these VMs): the median of three, runs printed in their order.
    const rawRuns: number[] = [];
    for (let run = 0; run < 3; run++) rawRuns.push((await rawPipeThroughput(hosts, params, fileBytes)).mbPerSecond);
    const raw = { mbPerSecond: median(rawRuns) };
    print('raw_pipe_runs_mb_per_s', rawRuns.map(rate => rate.toFixed(1)).join('/'));
    print('raw_pipe_mb_per_s', raw.mbPerSecond);
    const rawDefaultCipher = await rawPipeThroughput(hosts, params, fileBytes, { defaultCipher: true });
    print('raw_pipe_default_cipher_mb_per_s', rawDefaultCipher.mbPerSecond);

    const naive = await naiveMigration(hosts, params, app);
    // The naive run's copy was just deleted: its discards and inode work must not run into our initial sync.
    execFileSync('sync');
    print('host_durable_rename_ms_source', durableRenameMs(hosts.source.root));
    print('host_durable_rename_ms_target', durableRenameMs(hosts.target.root));

    // The job store on a SQLite file, as `npm start` keeps it (the engine's commits in the window are durable).
    const knex = await openJobDatabase(process.env.MIGRATION_BENCH_JOB_DB ?? join(hosts.dir, 'jobs.sqlite'));
    const dns = new MemoryDnsProvider();
    const kind = migrationJobKind({
      connect: sshHostConnector(async () => hosts.portalPrivateKey),
      dns: () => dns,
      retry: { maxAttempts: 3, initialDelayMs: 1_000, maxDelayMs: 5_000 },
      observeIntervalMs: 500,
    });
    const rig = migrationRig(knex, [kind]);
    const cpu = cpuSampler();
    await app.startWriter();
    const id = await createMigration(rig, input);
    const firstWrite = app.firstWrite();
    firstWrite.at.catch(() => undefined);
    const status = await driveToEnd(rig, id, { timeoutMs: 30 * 60_000 });
    const writer = await app.stopWriter();
    if (status !== 'succeeded') firstWrite.stop();
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
    // The window: from the app stopping on the source (the quiesce's start) to the first write acknowledged
    // on the target; each phase runs from its step's start to the next one's (engine bookkeeping included).
    const windowStart = (step('quiesce').output as { startedAt: number }).startedAt;
    const cutOver = step('cut-over').output as { servingAt: number; downtimeSeconds: number };
    const windowEnd = await firstWrite.at;
    const downtime = (windowEnd - windowStart) / 1000;
    cpu.stop();
    const busy = cpu.busyShare(windowStart, windowEnd);
    if (busy !== undefined) print('downtime_cpu_busy_share', busy);
    const phases: Array<[string, number]> = [
      ['quiesce', windowStart],
      ['final_sync', step('final-sync').startedAt!],
      ['verify', step('verify').startedAt!],
      ['cut_over', step('cut-over').startedAt!],
      ['first_write', cutOver.servingAt],
    ];
    phases.forEach(([name, at], index) => print(`downtime_${name}_s`, ((phases[index + 1]?.[1] ?? windowEnd) - at) / 1000));
    for (const name of ['final-sync', 'verify']) {
      for (const [strategy, result] of Object.entries(step(name).output as Record<string, Record<string, unknown>>)) {
        for (const [field, value] of Object.entries(result)) {
          if (typeof value === 'number' && /seconds$/i.test(field)) {
            const key = `${name}_${strategy}_${field.replace(/seconds$/i, '') || ''}`.replace(/[^a-z0-9]+/gi, '_').replace(/_+$/, '');
            print(`${key.toLowerCase()}_s`, value);
          }
        }
      }
    }
    print('job_reported_downtime_s', cutOver.downtimeSeconds);
    // Whether the window's commands were all set up and waiting at their gates before it opened.
    print('commands_waiting', String((step('quiesce').output as { commandsWaiting?: boolean }).commandsWaiting));
    // PostgreSQL's own part of the window, from the clusters' logs (ms timestamps, the same clock).
    const sourceLog = postgresLog(hosts.source.root, windowStart, windowEnd);
    const targetLog = postgresLog(hosts.target.root, windowStart, windowEnd);
    const span = (log: typeof sourceLog, from: string, to: string) => {
      const [start, end] = [log.find(line => line.message.includes(from)), log.find(line => line.message.includes(to))];
      return start && end && end.at >= start.at ? (end.at - start.at) / 1000 : undefined;
    };
    const shutdown = span(sourceLog, 'received fast shutdown request', 'checkpoint complete');
    const promotion = span(targetLog, 'received promote request', 'database system is ready to accept connections');
    if (shutdown !== undefined) print('downtime_postgres_shutdown_s', shutdown);
    if (promotion !== undefined) print('downtime_postgres_promotion_s', promotion);
    const initial = step('initial-sync');
    const initialSeconds = (initial.finishedAt! - initial.startedAt!) / 1000;
    const initialBusy = cpu.busyShare(initial.startedAt!, initial.finishedAt!);
    if (initialBusy !== undefined) print('initial_sync_cpu_busy_share', initialBusy);
    // The files' first pass alone: the database's base backup runs at the same time, on the same cores.
    const filesFirstPass = ((initial.output as Record<string, { seconds: number }>)['files:media']).seconds;
    const filesMbPerSecond = fileBytes / filesFirstPass / 1e6;
    const initialMbPerSecond = (fileBytes + databaseBytes) / initialSeconds / 1e6;
    const lost = lostWrites(hosts, hosts.target, writer);
    for (const name of ['quiesce', 'final-sync', 'verify', 'cut-over']) {
      const record = step(name);
      print(`step_${name.replace(/-/g, '_')}_s`, (record.finishedAt! - record.startedAt!) / 1000);
    }
    print('initial_sync_s', initialSeconds);
    print('initial_sync_all_data_mb_per_s', initialMbPerSecond);
    print('initial_sync_files_s', filesFirstPass);
    print('initial_sync_files_mb_per_s', filesMbPerSecond);
    print('acknowledged_writes', writer.files.size + writer.rows.size);
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
    print('throughput_ratio', initialMbPerSecond / raw.mbPerSecond);
    print('throughput_ratio_files_pass', filesMbPerSecond / raw.mbPerSecond);
    print('throughput_ratio_vs_default_cipher_pipe', initialMbPerSecond / rawDefaultCipher.mbPerSecond);
    print('lost_writes', lost.length);
    await knex.destroy();
  } finally {
    app.stop();
    const pgLogs = process.env.MIGRATION_BENCH_PG_LOGS;
    if (pgLogs) {
      for (const [role, host] of [['source', hosts.source], ['target', hosts.target]] as const) {
        mkdirSync(join(pgLogs, role), { recursive: true });
        for (const file of postgresLogFiles(host.root)) copyFileSync(file, join(pgLogs, role, basename(file)));
      }
    }
    await hosts.stop();
  }
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
