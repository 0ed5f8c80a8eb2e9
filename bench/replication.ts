/**
 * Replication benchmark on this machine: real sshd on loopback, rsync, ZFS (zfs-fuse file pools), PostgreSQL 15.
 *
 *   npm run bench -- replication [--mb 128] [--repeat 3] [--lag-samples 300] [--writers 4]   (as root: zfs-fuse, runuser)
 *
 * For rsync and for ZFS: full sync time and throughput next to a raw `tar | ssh … dd of=/dev/null` pipe of the same
 * data from the same file system, the ratio of the two, a no-change resync and a 1 % (of files) incremental;
 * medians over --repeat interleaved repetitions (the machine may be shared).
 * For context: the same pipe unpacking on the target (the cost of writing the copy at all) and how many remote
 * commands a full run issues (each pays an SSH session and a shell start: see ssh_command_s).
 * Then commit-to-standby lag p50/p99 of a PostgreSQL streaming standby under a write load. One name=value per line.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeToPeerArgv } from '@fediversity/plugin-fediversity-node';
import { CommandRunner, localRunner } from '../plugins/fediversity-backend/src/replication/commandRunner';
import { ensureStandby } from '../plugins/fediversity-backend/src/replication/postgres';
import { replicateFiles } from '../plugins/fediversity-backend/src/replication/rsync';
import { replicateZfs } from '../plugins/fediversity-backend/src/replication/zfs';
import { measureCommitToStandbyLag } from '../plugins/fediversity-backend/src/replication/__testUtils__/pgLag';
import { startTestPgPair } from '../plugins/fediversity-backend/src/replication/__testUtils__/pgPair';
import { startTestSshHosts, TestSshHosts } from '../plugins/fediversity-backend/src/replication/__testUtils__/sshHosts';
import { startTestZfs } from '../plugins/fediversity-backend/src/replication/__testUtils__/zfsFuse';
import { median } from './support/median';

const FILE_BYTES = 256_000;

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function print(name: string, value: number, digits = 3) {
  process.stdout.write(`${name}=${Number.isFinite(value) ? value.toFixed(digits) : 'NaN'}\n`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function writeDataset(dir: string, files: number) {
  await mkdir(join(dir, 'data'), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(dir, 'data', `f${i}`), randomBytes(FILE_BYTES));
  await localRunner.run(['sync']);
}

async function rewriteOnePercent(dir: string, files: number, round: number) {
  const count = Math.max(1, Math.round(files / 100));
  for (let i = 0; i < count; i++) await writeFile(join(dir, 'data', `f${(i * 97 + round) % files}`), randomBytes(FILE_BYTES));
  await localRunner.run(['sync']);
}

/** The same bytes through one ssh connection without any replication tool: the transport's ceiling. */
function rawPipe(hosts: TestSshHosts, source: CommandRunner, dir: string) {
  return source.run(pipeToPeerArgv(['tar', '-C', dir, '-cf', '-', 'data'], hosts.peer, ['dd', 'of=/dev/null', 'bs=1M', 'status=none']));
}

/**
 * The same pipe, but unpacked on the target file system instead of discarded: what writing the copy costs on its
 * own (context for the ratios above, which compare with the discarding pipe as the issue asks).
 */
function rawPipeToDisk(hosts: TestSshHosts, source: CommandRunner, dir: string, targetDir: string) {
  return source.run(pipeToPeerArgv(['tar', '-C', dir, '-cf', '-', 'data'], hosts.peer, ['tar', '-C', targetDir, '-xf', '-']));
}

/** Counts the remote commands (SSH sessions) a run issues: on small deltas their fixed cost is most of a run. */
function counting(runner: CommandRunner) {
  let count = 0;
  return {
    runner: {
      run: (argv: readonly string[], options?: Parameters<CommandRunner['run']>[1]) => {
        count++;
        return runner.run(argv, options);
      },
    },
    take: () => {
      const taken = count;
      count = 0;
      return taken;
    },
  };
}

let clock = Date.now();
const now = () => (clock += 1000);

/**
 * Each repetition measures the raw pipe right before a full sync to a fresh target, then a no-change resync and a
 * 1 % incremental: on a shared machine the load drifts, so medians of interleaved runs are compared.
 */
interface Repetition {
  raw: number;
  full: number;
  noChange: number;
  incremental: number;
}

function printFigures(prefix: string, runs: Repetition[], megabytes: number) {
  const raw = median(runs.map(r => r.raw));
  const full = median(runs.map(r => r.full));
  print(`${prefix}_raw_ssh_pipe_s`, raw);
  print(`${prefix}_raw_ssh_pipe_mb_s`, megabytes / raw, 1);
  print(`${prefix}_full_s`, full);
  print(`${prefix}_full_mb_s`, megabytes / full, 1);
  print(`${prefix}_throughput_ratio`, raw / full);
  print(`${prefix}_nochange_s`, median(runs.map(r => r.noChange)));
  print(`${prefix}_1pct_s`, median(runs.map(r => r.incremental)));
}

async function benchRsync(hosts: TestSshHosts, files: number, megabytes: number, repeat: number) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-rsync-'));
  try {
    await writeDataset(dir, files);
    const source = counting(hosts.source);
    const target = counting(hosts.target);
    await rawPipe(hosts, hosts.source, dir); // warm the page cache so both measure the same thing
    await mkdir(join(dir, 'untarred'));
    const rawToDisk = await timed(() => rawPipeToDisk(hosts, hosts.source, dir, join(dir, 'untarred')));
    await rm(join(dir, 'untarred'), { recursive: true });
    const runs: Repetition[] = [];
    let commands = 0;
    for (let i = 0; i < repeat; i++) {
      const options = () => ({
        source: source.runner, sourcePath: join(dir, 'data'), target: target.runner, targetRoot: join(dir, `replica-${i}`),
        peer: hosts.peer, keepGenerations: 2, now,
      });
      const raw = await timed(() => rawPipe(hosts, hosts.source, dir));
      source.take();
      target.take();
      const full = await timed(() => replicateFiles(options()));
      commands = source.take() + target.take();
      const noChange = await timed(() => replicateFiles(options()));
      await rewriteOnePercent(dir, files, i + 1);
      const incremental = await timed(() => replicateFiles(options()));
      runs.push({ raw, full, noChange, incremental });
      await rm(join(dir, `replica-${i}`), { recursive: true, force: true });
    }
    printFigures('rsync', runs, megabytes);
    print('rsync_raw_ssh_untar_s', rawToDisk);
    print('rsync_full_remote_commands', commands, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchZfs(hosts: TestSshHosts, files: number, megabytes: number, repeat: number) {
  const zfs = await startTestZfs();
  if (typeof zfs === 'string') {
    process.stderr.write(`zfs skipped: ${zfs}\n`);
    return;
  }
  try {
    const poolMb = Math.ceil(megabytes * 4 + 128);
    const sourcePool = await zfs.createPool('bsrc', poolMb);
    const targetPool = await zfs.createPool('bdst', poolMb);
    const mountpoint = join(zfs.dir, 'mnt');
    await localRunner.run(['zfs', 'create', '-o', `mountpoint=${mountpoint}`, `${sourcePool}/app`]);
    await writeDataset(mountpoint, files);
    const source = counting(hosts.source);
    const target = counting(hosts.target);
    await rawPipe(hosts, hosts.source, mountpoint);
    // Unpacked into a dataset of the target pool: zfs-fuse's write path on its own.
    const untarMount = join(zfs.dir, 'untar');
    await localRunner.run(['zfs', 'create', '-o', `mountpoint=${untarMount}`, `${targetPool}/untar`]);
    const rawToPool = await timed(() => rawPipeToDisk(hosts, hosts.source, mountpoint, untarMount));
    await localRunner.run(['zfs', 'unmount', `${targetPool}/untar`], { check: false });
    await localRunner.run(['zfs', 'destroy', '-r', `${targetPool}/untar`], { check: false });
    const runs: Repetition[] = [];
    let commands = 0;
    for (let i = 0; i < repeat; i++) {
      const targetDataset = `${targetPool}/app${i}`;
      const options = () => ({
        source: source.runner, sourceDataset: `${sourcePool}/app`, target: target.runner, targetDataset,
        peer: hosts.peer, snapshotPrefix: `bench${i}`, keepSnapshots: 2, now, recordCommonPoint: async () => {},
      });
      const raw = await timed(() => rawPipe(hosts, hosts.source, mountpoint));
      source.take();
      target.take();
      const full = await timed(() => replicateZfs(options()));
      commands = source.take() + target.take();
      const noChange = await timed(() => replicateZfs(options()));
      await rewriteOnePercent(mountpoint, files, i + 1);
      const incremental = await timed(() => replicateZfs(options()));
      runs.push({ raw, full, noChange, incremental });
      // The replica is received unmounted, so it can go at once and the pool holds one copy at a time.
      await localRunner.run(['zfs', 'destroy', '-r', targetDataset]);
    }
    printFigures('zfs', runs, megabytes);
    print('zfs_raw_ssh_untar_to_pool_s', rawToPool);
    print('zfs_full_remote_commands', commands, 0);
  } finally {
    await zfs.stop();
  }
}

async function benchPostgres(samples: number, writers: number) {
  const pair = await startTestPgPair();
  if (typeof pair === 'string') {
    process.stderr.write(`postgres skipped: ${pair}\n`);
    return;
  }
  try {
    await ensureStandby(pair.standby, pair.primaryEndpoint);
    const lag = await measureCommitToStandbyLag({ primaryUrl: pair.primaryUrl, standbyUrl: pair.standbyUrl, samples, writers });
    print('pg_write_tps', lag.writeTps, 0);
    print('pg_lag_p50_ms', lag.p50, 2);
    print('pg_lag_p99_ms', lag.p99, 2);
    print('pg_lag_max_ms', lag.max, 2);
  } finally {
    await pair.stop();
  }
}

async function main() {
  const megabytes = argument('mb', 128);
  const files = Math.max(100, Math.round((megabytes * 1e6) / FILE_BYTES));
  const dataMb = (files * FILE_BYTES) / 1e6;
  print('data_mb', dataMb, 1);
  print('data_files', files, 0);
  const hosts = await startTestSshHosts();
  if (typeof hosts === 'string') throw new Error(hosts);
  try {
    // Every remote step pays this (a login shell's rc files run per command): it dominates the small cases.
    await hosts.source.run(['true']);
    print('ssh_command_s', await timed(() => hosts.source.run(['true'])));
    const repeat = Math.max(1, argument('repeat', 3));
    print('repetitions', repeat, 0);
    await benchRsync(hosts, files, dataMb, repeat);
    await benchZfs(hosts, files, dataMb, repeat);
  } finally {
    await hosts.stop();
  }
  await benchPostgres(argument('lag-samples', 300), argument('writers', 4));
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
