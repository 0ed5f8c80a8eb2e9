import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { localHost } from '../testing/localHost';
import { CommandResult } from './hosts';
import { MigrationHost, PostgresHost } from './params';
import { CHECKPOINTER_NUDGE, PostgresOnHost, watchShutdownCheckpoint } from './postgres';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
const osUser = asRoot ? 'postgres' : userInfo().username;

function hostFor(pg: PostgresHost): MigrationHost {
  return {
    host: '127.0.0.1',
    port: 22,
    username: userInfo().username,
    hostKey: 'SHA256:unused-in-this-test',
    hostPublicKey: 'ssh-ed25519 AAAAunused',
    privateKey: { secretRef: 'unused' },
    pathPrefix: '/',
    postgres: pg,
  } as MigrationHost;
}

/** What the stop script prints after the exit for `controlFile({ version: 1300, state: 1, checkpoint: 0x1_8a3f00c8n })`. */
const SHUT_DOWN_AT_1_8A3F00C8 = {
  'pg_control version number': '1300',
  'Database system identifier': '7712683600697680736',
  'Database cluster state': 'shut down',
  'Latest checkpoint location': '1/8A3F00C8',
};

/** The first 40 bytes of a ControlFileData: version at 8, state at 16, checkPoint at 32 (little-endian). */
function controlFile(options: { version: number; state: number; checkpoint: bigint; bigEndian?: boolean; systemIdentifier?: bigint }): Buffer {
  const bytes = Buffer.alloc(8192);
  const write32 = (value: number, at: number) => (options.bigEndian ? bytes.writeUInt32BE(value, at) : bytes.writeUInt32LE(value, at));
  bytes.writeBigUInt64LE(options.systemIdentifier ?? 0x6b08f4df0c90e360n, 0);
  write32(options.version, 8);
  write32(202209061, 12);
  write32(options.state, 16);
  bytes.writeBigInt64LE(1_800_000_000n, 24);
  if (options.bigEndian) bytes.writeBigUInt64BE(options.checkpoint, 32);
  else bytes.writeBigUInt64LE(options.checkpoint, 32);
  return bytes;
}

describe('watchShutdownCheckpoint', () => {
  it('tells the LSN of the early line once, across chunks, and nothing for look-alike lines', () => {
    const told: string[] = [];
    const watch = watchShutdownCheckpoint(lsn => told.push(lsn));
    watch('shutdown checkpoint 0/15007');
    expect(told).toEqual([]);
    watch('18\npg_control version number: 1300\n');
    watch('shutdown checkpoint 0/1600000\n');
    expect(told).toEqual(['0/1500718']);

    const other: string[] = [];
    const watchOther = watchShutdownCheckpoint(lsn => other.push(lsn));
    watchOther('Latest checkpoint location: 0/1500718\nshutdown checkpoint 0/150071Z\n xshutdown checkpoint 0/1\n');
    expect(other).toEqual([]);
  });
});

/** A cluster in `dir` (data/, bin/ with stand-ins for its programs) as the scripts see it. */
function standInCluster(dir: string): PostgresOnHost {
  const pg = { bin: join(dir, 'bin'), dataDir: join(dir, 'data'), port: 5432, socketDir: dir, osUser: userInfo().username, address: '127.0.0.1' };
  return new PostgresOnHost(localHost('source'), hostFor({} as PostgresHost), pg);
}

/**
 * The stop script against a stand-in postmaster (a `sleep` whose pid is in the pid file) and a control file
 * the test writes, so each layout can be tried: the early line comes from the control file alone. The
 * control file says "in production" until `stop` signals the postmaster; `control` is written 30 ms after
 * it exits, and the pid file removed 300 ms later.
 */
async function stopping<T>(dir: string, control: Buffer, stop: (postgres: PostgresOnHost, data: string) => Promise<T>) {
  const postmaster = spawn('sleep', ['30'], { stdio: 'ignore' });
  const data = join(dir, 'data');
  writeFileSync(join(data, 'global/pg_control'), controlFile({ version: 1300, state: 2, checkpoint: 0x2000000n }));
  utimesSync(join(data, 'global/pg_control'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  writeFileSync(join(data, 'postmaster.pid'), `${postmaster.pid}\n${data}\n`);
  const stopped = stop(standInCluster(dir), data);
  await new Promise(resolve => postmaster.once('exit', resolve));
  // The shutdown checkpoint: the control file changes after the pid file, then the postmaster exits.
  await new Promise(resolve => setTimeout(resolve, 30));
  writeFileSync(join(data, 'global/pg_control'), control);
  // The script reads every 2 ms: 300 ms leaves a loaded host time to get round to it.
  await new Promise(resolve => setTimeout(resolve, 300));
  rmSync(join(data, 'postmaster.pid'));
  return stopped;
}

/** A directory for standInCluster: data/global, and bin/pg_controldata standing in for the reading after the exit. */
function standInDirectory(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'data/global'), { recursive: true });
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/pg_controldata'), '#!/bin/sh\necho "Database cluster state:               shut down"\necho "Latest checkpoint location:           0/3000028"\n');
  chmodSync(join(dir, 'bin/pg_controldata'), 0o755);
  return dir;
}

describe('the stop script reading the control file early', () => {
  let dir: string;
  beforeEach(() => {
    dir = standInDirectory('fediversity-pgstop-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function stopWith(control: Buffer) {
    const told: Array<{ lsn: string; pidFileThere: boolean }> = [];
    const fields = await stopping(dir, control, (postgres, data) =>
      postgres.stopAndWait('fast', undefined, lsn => told.push({ lsn, pidFileThere: existsSync(join(data, 'postmaster.pid')) })),
    );
    return { told, fields };
  }

  it('prints the checkpoint of a control file that says shut down, while the pid file is still there', async () => {
    const { told, fields } = await stopWith(controlFile({ version: 1300, state: 1, checkpoint: 0x1_8a3f00c8n }));
    expect(told).toEqual([{ lsn: '1/8A3F00C8', pidFileThere: true }]);
    // Read after the exit from the control file itself (a layout it knows): pg_controldata's stand-in is not run.
    expect(fields).toEqual(SHUT_DOWN_AT_1_8A3F00C8);
  });

  it('prints a system identifier of 2^63 or more unsigned, as pg_controldata does', async () => {
    const { fields } = await stopWith(controlFile({ version: 1300, state: 1, checkpoint: 0x3000028n, systemIdentifier: 0xfb08f4df0c90e360n }));
    expect(fields['Database system identifier']).toBe('18088977142159303520');
  });

  it('prints nothing for a layout it does not know (another version, the other byte order) or a state other than shut down', async () => {
    for (const control of [
      controlFile({ version: 1700, state: 1, checkpoint: 0x3000028n }),
      controlFile({ version: 1300, state: 1, checkpoint: 0x3000028n, bigEndian: true }),
      controlFile({ version: 1300, state: 3, checkpoint: 0x3000028n }),
    ]) {
      const { told, fields } = await stopWith(control);
      expect(told).toEqual([]);
      // Read after the exit by pg_controldata (its stand-in's answer): the script prints none of its own.
      expect(fields).toEqual({ 'Database cluster state': 'shut down', 'Latest checkpoint location': '0/3000028' });
    }
  });
});

/** What the stop script's find_checkpointer finds for a postmaster: the pid of its checkpointer, or ''. */
function checkpointerOf(postmaster: number | string): string {
  return execFileSync('bash', ['-c', `${CHECKPOINTER_NUDGE}\nfind_checkpointer "$1"; printf %s "$checkpointer"`, 'bash', String(postmaster)]).toString();
}

/** A process titled as a checkpointer that appends the time of every SIGUSR1 it takes to `log`. */
const TITLED_CHECKPOINTER = `exec -a 'postgres: checkpointer ' bash -c 'trap "echo \\$EPOCHREALTIME >> \\"\\$0\\"" USR1; exec 3<> <(:); while :; do read -r -t 0.005 -u 3; done' "$1"`;

/**
 * A stand-in postmaster with a child titled as its checkpointer. On SIGINT it says "stopping" in its pid
 * file, waits 80 ms (PostgreSQL's wait for its WAL senders), notes the time and writes `control` (the
 * shutdown checkpoint's start), waits 80 ms more, then ends. Its pid file is older than the control file
 * until then, as a running cluster's is.
 */
const STAND_IN_POSTMASTER = [
  'dir=$1',
  `( set -- "$dir/nudges"; ${TITLED_CHECKPOINTER} ) &`,
  'child=$!',
  "stop= ; trap 'stop=yes' INT",
  'exec 4<> <(:)',
  'while [ -z "$stop" ]; do read -r -t 0.005 -u 4; done',
  'touch "$dir/data/postmaster.pid"',
  'read -r -t 0.08 -u 4',
  'echo "$EPOCHREALTIME" > "$dir/checkpoint-started"',
  'cat "$dir/control" > "$dir/data/global/pg_control"',
  'read -r -t 0.08 -u 4',
  'kill "$child"',
  'rm -f "$dir/data/postmaster.pid"',
].join('\n');

describe('the stop script waking the checkpointer', () => {
  let dir: string;
  beforeEach(() => {
    dir = standInDirectory('fediversity-pgnudge-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Waits until the stop script would find the stand-in's checkpointer (it has set its title). */
  async function checkpointerStarted(postmaster: number) {
    for (let waited = 0; waited < 5000 && !checkpointerOf(postmaster); waited += 10) await new Promise(resolve => setTimeout(resolve, 10));
    expect(checkpointerOf(postmaster)).not.toBe('');
  }

  const times = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);

  /**
   * The stand-in postmaster (taking `signal` as its stop request) with its control file older than its pid
   * file, as a running cluster's; resolves once its checkpointer can be found, with a way to end it.
   */
  async function standInPostmaster(signal: 'INT' | 'QUIT') {
    const data = join(dir, 'data');
    writeFileSync(join(dir, 'control'), controlFile({ version: 1300, state: 1, checkpoint: 0x3000028n }));
    writeFileSync(join(data, 'global/pg_control'), controlFile({ version: 1300, state: 2, checkpoint: 0x2000000n }));
    utimesSync(join(data, 'global/pg_control'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const postmaster = spawn('bash', ['-c', STAND_IN_POSTMASTER.replace("trap 'stop=yes' INT", `trap 'stop=yes' ${signal}`), 'bash', dir], { stdio: 'ignore' });
    writeFileSync(join(data, 'postmaster.pid'), `${postmaster.pid}\n${data}\n`);
    utimesSync(join(data, 'postmaster.pid'), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    const end = () => postmaster.kill('SIGKILL');
    await checkpointerStarted(postmaster.pid!).catch(error => {
      end();
      throw error;
    });
    return { end };
  }

  it("signals the postmaster's checkpointer between the stop request and the shutdown checkpoint's start, and no look-alike", async () => {
    // Titled alike, but not the postmaster's child: never signalled.
    const lookAlike = spawn('bash', ['-c', TITLED_CHECKPOINTER, 'bash', join(dir, 'look-alike')], { stdio: 'ignore' });
    const postmaster = await standInPostmaster('INT');
    try {
      const fields = await standInCluster(dir).stopAndWait('fast');
      expect(fields['Database cluster state']).toBe('shut down');
    } finally {
      lookAlike.kill();
      postmaster.end();
    }
    const checkpointStarted = times(join(dir, 'checkpoint-started'))[0];
    const nudges = times(join(dir, 'nudges'));
    expect(nudges.length).toBeGreaterThan(0);
    // A signal sent just before the control file changed can be taken a little later; none after that.
    expect(nudges.filter(at => at > checkpointStarted + 0.05)).toEqual([]);
    expect(times(join(dir, 'look-alike'))).toEqual([]);
  });

  it('signals nothing for an immediate stop', async () => {
    const postmaster = await standInPostmaster('QUIT');
    try {
      await standInCluster(dir).stopAndWait('immediate');
    } finally {
      postmaster.end();
    }
    expect(existsSync(join(dir, 'checkpoint-started'))).toBe(true);
    expect(times(join(dir, 'nudges'))).toEqual([]);
  });
});

describe('the switchover with its relay', () => {
  let dir: string;
  beforeEach(() => {
    dir = standInDirectory('fediversity-pgrelay-');
    // The target's psql stands in: it records that it started, whether the pid file was still there when
    // its script began to arrive, and the script; it answers twice, as the guarded promotion does.
    writeFileSync(
      join(dir, 'bin/psql'),
      [
        '#!/bin/bash',
        'touch "$1/relay-started"',
        'IFS= read -r first || exit 0',
        '[ -e "$1/data/postmaster.pid" ] && touch "$1/pid-file-there"',
        '{ printf "%s\\n" "$first"; cat; } > "$1/relayed"',
        'echo "t|7712|0/3000098"',
        'echo "f|7712|0/3000098"',
        // Where the test asks, psql lingers after its last answer, as an exit and a teardown take time.
        'while [ -e "$1/linger" ] && [ ! -e "$1/release" ]; do sleep 0.01; done',
      ].join('\n'),
    );
    chmodSync(join(dir, 'bin/psql'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function switchover(control: Buffer, quiesceFirst: string[][] = []) {
    const answers: string[] = [];
    let raw!: Promise<CommandResult>;
    const result = await stopping(dir, control, async postgres => {
      const ready = postgres.startSwitchover('fast', { argv: [join(dir, 'bin/psql'), dir], promotionSql: 'SELECT 1;\nSELECT 2;', quiesceFirst });
      // The relay connects before the gate opens.
      await relayStarted();
      raw = ready.fire('');
      // A later firing (the final sync's, after the quiesce step's) hears all the output.
      return postgres.fireSwitchover(ready, undefined, { onPromotionAnswer: answer => answers.push(answer) });
    });
    return { ...result, answers, raw: await raw };
  }

  async function relayStarted() {
    for (let waited = 0; !existsSync(join(dir, 'relay-started')) && waited < 5000; waited += 10) await new Promise(resolve => setTimeout(resolve, 10));
    expect(existsSync(join(dir, 'relay-started'))).toBe(true);
  }

  it('relays the guarded promotion on the early reading, while the postmaster still runs, and passes its answers on', async () => {
    const { fields, promotionAnswers, answers } = await switchover(controlFile({ version: 1300, state: 1, checkpoint: 0x1_8a3f00c8n }));
    expect(readFileSync(join(dir, 'relayed'), 'utf8')).toBe("SET fediversity.checkpoint_lsn TO '1/8A3F00C8';\nSELECT 1;\nSELECT 2;\n");
    expect(existsSync(join(dir, 'pid-file-there'))).toBe(true);
    expect(promotionAnswers).toEqual(['t|7712|0/3000098', 'f|7712|0/3000098']);
    expect(answers).toEqual(promotionAnswers);
    expect(fields).toEqual(SHUT_DOWN_AT_1_8A3F00C8);
  });

  it('gives its reading at the promotion\'s end, where asked, without waiting for psql to exit', async () => {
    writeFileSync(join(dir, 'linger'), '');
    let raw!: Promise<CommandResult>;
    let ended = false;
    const result = await stopping(dir, controlFile({ version: 1300, state: 1, checkpoint: 0x1_8a3f00c8n }), async postgres => {
      const ready = postgres.startSwitchover('fast', { argv: [join(dir, 'bin/psql'), dir], promotionSql: 'SELECT 1;\nSELECT 2;' });
      await relayStarted();
      raw = ready.fire('');
      raw.then(() => (ended = true));
      return postgres.fireSwitchover(ready, undefined, {}, { endAtPromotionEnd: true });
    });
    expect(ended).toBe(false);
    expect(result).toEqual({
      fields: SHUT_DOWN_AT_1_8A3F00C8,
      promotionAnswers: ['t|7712|0/3000098', 'f|7712|0/3000098'],
    });
    writeFileSync(join(dir, 'release'), '');
    expect((await raw).stdout).toMatch(/^stop exited 0$/m);
  });

  it('relays on pg_controldata\'s reading after the exit where the early reading cannot tell', async () => {
    const { promotionAnswers } = await switchover(controlFile({ version: 1700, state: 1, checkpoint: 0x3000028n }));
    expect(readFileSync(join(dir, 'relayed'), 'utf8')).toBe("SET fediversity.checkpoint_lsn TO '0/3000028';\nSELECT 1;\nSELECT 2;\n");
    expect(existsSync(join(dir, 'pid-file-there'))).toBe(false);
    expect(promotionAnswers).toEqual(['t|7712|0/3000098', 'f|7712|0/3000098']);
  });

  it('runs the app\'s quiesce commands first, says so, then stops and relays', async () => {
    const quiesceFirst = [['touch', join(dir, 'q1')], ['bash', '-c', 'echo "app says bye"; touch "$1"', 'bash', join(dir, 'q2')]];
    const { raw, fields, promotionAnswers } = await switchover(controlFile({ version: 1300, state: 1, checkpoint: 0x1_8a3f00c8n }), quiesceFirst);
    expect(existsSync(join(dir, 'q1')) && existsSync(join(dir, 'q2'))).toBe(true);
    // The app's output goes to stderr: the output the steps read is the switchover's own.
    expect(raw.stdout.startsWith('quiesced\nshutdown checkpoint 1/8A3F00C8\n')).toBe(true);
    expect(raw.stderr).toContain('app says bye');
    expect(fields['Latest checkpoint location']).toBe('1/8A3F00C8');
    expect(promotionAnswers).toEqual(['t|7712|0/3000098', 'f|7712|0/3000098']);
    expect(readFileSync(join(dir, 'relayed'), 'utf8')).toContain("SET fediversity.checkpoint_lsn TO '1/8A3F00C8';");
  });

  it('stops nothing and relays nothing when an app quiesce command fails, and ends with its exit status', async () => {
    const postmaster = spawn('sleep', ['30'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'data/postmaster.pid'), `${postmaster.pid}\n${join(dir, 'data')}\n`);
    const quiesceFirst = [['touch', join(dir, 'q1')], ['bash', '-c', 'exit 7'], ['touch', join(dir, 'q3')]];
    const ready = standInCluster(dir).startSwitchover('fast', { argv: [join(dir, 'bin/psql'), dir], promotionSql: 'SELECT 1;', quiesceFirst });
    await relayStarted();
    const result = await ready.fire('');
    expect(result).toMatchObject({ exitCode: 7, stdout: '' });
    expect([existsSync(join(dir, 'q1')), existsSync(join(dir, 'q3'))]).toEqual([true, false]);
    expect(existsSync(join(dir, 'relayed'))).toBe(false);
    expect(postmaster.exitCode).toBeNull();
    postmaster.kill();
  });

  it('relays nothing and stops nothing when disarmed', async () => {
    const postmaster = spawn('sleep', ['30'], { stdio: 'ignore' });
    const data = join(dir, 'data');
    writeFileSync(join(data, 'postmaster.pid'), `${postmaster.pid}\n${data}\n`);
    const ready = standInCluster(dir).startSwitchover('fast', { argv: [join(dir, 'bin/psql'), dir], promotionSql: 'SELECT 1;' });
    await relayStarted();
    ready.disarm();
    expect((await ready.fire('')).exitCode).toBe(125);
    expect(existsSync(join(dir, 'relayed'))).toBe(false);
    expect(postmaster.exitCode).toBeNull();
    postmaster.kill();
  });
});

const pgInstalled = existsSync(join(PG_BIN, 'initdb'));

(pgInstalled ? describe : describe.skip)('stopping a real cluster', () => {
  let dir: string;
  let pg: PostgresHost;
  const runAsOsUser = (argv: string[]) => {
    const [program, ...args] = asRoot ? ['runuser', '-u', osUser, '--', ...argv] : argv;
    execFileSync(program, args, { stdio: 'ignore' });
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fediversity-pgstop-real-'));
    if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', osUser]).toString()), Number(execFileSync('id', ['-g', osUser]).toString()));
    const port = 20000 + Math.floor(Math.random() * 20000);
    pg = { bin: PG_BIN, dataDir: join(dir, 'data'), port, socketDir: dir, osUser, address: '127.0.0.1' };
    runAsOsUser([join(PG_BIN, 'initdb'), '-D', pg.dataDir, '-A', 'trust', '--wal-segsize=1']);
  }, 60_000);
  afterAll(() => {
    try {
      runAsOsUser([join(PG_BIN, 'pg_ctl'), '-D', pg.dataDir, '-m', 'immediate', 'stop']);
    } catch {
      // stopped already
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds the cluster's checkpointer by its title and parent, the one pg_stat_activity names", async () => {
    const postgres = new PostgresOnHost(localHost('source'), hostFor(pg), pg);
    await postgres.start();
    const named = await postgres.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
    const postmaster = readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    expect(checkpointerOf(postmaster)).toBe(named.trim());
    // Not a child of that postmaster: not found.
    expect(checkpointerOf(process.pid)).toBe('');
    await postgres.stopAndWait('fast');
  }, 60_000);

  // Whether the script catches the state between "shut down" and the exit in a given round depends on the
  // load: what it tells must be what pg_controldata reads after the exit.
  it('tells the shutdown checkpoint while it stops, and reads after the exit what pg_controldata reads', async () => {
    const postgres = new PostgresOnHost(localHost('source'), hostFor(pg), pg);
    const writeThenStop = async () => {
      await postgres.start();
      await postgres.query('CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t SELECT generate_series(1, 10000)');
      const told: string[] = [];
      const fields = await postgres.stopAndWait('fast', undefined, lsn => told.push(lsn));
      return { told, fields };
    };
    let readEarly = 0;
    for (let round = 0; round < 5; round++) {
      const { told, fields } = await writeThenStop();
      // Read by the script itself after the exit: the fields the verify uses are pg_controldata's own.
      const controlData = await postgres.controlData();
      for (const name of ['Database system identifier', 'Database cluster state', 'Latest checkpoint location']) expect(fields[name]).toBe(controlData[name]);
      expect(fields['Database cluster state']).toBe('shut down');
      expect(told.length).toBeLessThanOrEqual(1);
      for (const lsn of told) expect(lsn).toBe(fields['Latest checkpoint location']);
      readEarly += told.length;
    }
    // The real control file's layout is the one the script reads: not one round in five missing it by chance.
    expect(readEarly).toBeGreaterThan(0);
  }, 120_000);
});
