import { posix } from 'node:path';
import { PermanentJobError } from '../jobs/errors';
import { asUser, HostShell, watchLines } from './hosts';
import { AT_GATE_LINE, GATE_LINE, ReadyCommand, startReady } from './readyCommands';
import { MigrationHost, PostgresHost } from './params';
import { QUIESCED_LINE, StrategyEnv } from './strategy';

/** The session setting that holds the source's shutdown checkpoint for the guarded promotion's SQL. */
export const CHECKPOINT_SETTING = 'fediversity.checkpoint_lsn';

/** The prefix of the relayed psql's lines in the switchover's output. */
const PROMOTION_PREFIX = 'promotion ';

/** The switchover's line with the stop's exit status, once the control file's reading after the exit is all out. */
const STOP_EXITED_PREFIX = 'stop exited ';
const STOP_EXITED_LINE = /^stop exited (\d+)$/;

/**
 * Bash functions for the stop script that read the first 40 bytes of ControlFileData without a fork
 * (pg_controldata on every round took CPU from the shutdown, and its one run after the exit, 3–5 ms of CPU
 * while the target promotes, was still on the window's path): pg_control_version at offset 8, system
 * identifier at 0, state at 16 (DB_SHUTDOWNED = 1), checkPoint at 32, little-endian. That layout is checked
 * by its version, 1300 (PostgreSQL 13 to 16). A byte is read as a character up to a NUL delimiter (an empty
 * one is a NUL); under LC_ALL=C a character is a byte.
 *   - `tell_shutdown_checkpoint <file>`, while the postmaster stops: once the state says "shut down",
 *     prints `shutdown checkpoint <LSN>` (SHUTDOWN_CHECKPOINT_LINE) and sets `told`. The checkpointer
 *     sets that state and the checkpoint's location in one write, after the checkpoint record is flushed
 *     and before the WAL senders' last exchange with the standby. Any other layout sets `told=unknown`
 *     and prints nothing: the caller waits for the exit.
 *   - `print_control_data <file>`, after the exit: the three fields the verify reads, as pg_controldata
 *     prints them, for a cleanly shut down cluster of the known layout; status 1 otherwise, and the caller
 *     runs pg_controldata. The early reading must name the checkpoint this one does, or the final sync fails.
 */
const CONTROL_FILE_READER = `control_head() {
  local -i i v
  local c
  b=()
  exec 4< "$1" || return 1
  for ((i = 0; i < 40; i++)); do
    IFS= read -r -d '' -n 1 -u 4 c || break
    printf -v v %d "'$c"
    b[i]=$((v & 255))
  done
  exec 4<&-
  ((i == 40)) || return 1
  (((b[8] | b[9] << 8 | b[10] << 16 | b[11] << 24) == 1300)) || return 2
}
shut_down() {
  (((b[16] | b[17] << 8 | b[18] << 16 | b[19] << 24) == 1))
}
checkpoint_location() {
  printf -v "$1" %X/%X "$((b[36] | b[37] << 8 | b[38] << 16 | b[39] << 24))" "$((b[32] | b[33] << 8 | b[34] << 16 | b[35] << 24))"
}
tell_shutdown_checkpoint() {
  local -a b
  local location
  control_head "$1"
  case $? in 1) return 0 ;; 2) told=unknown; return 0 ;; esac
  shut_down || return 0
  checkpoint_location location
  told=yes
  printf 'shutdown checkpoint %s\\n' "$location"
}
print_control_data() {
  local -a b
  local location
  control_head "$1" && shut_down || return 1
  checkpoint_location location
  printf 'pg_control version number:            1300\\n'
  printf 'Database system identifier:           %u\\n' "$((b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 | b[4] << 32 | b[5] << 40 | b[6] << 48 | b[7] << 56))"
  printf 'Database cluster state:               shut down\\n'
  printf 'Latest checkpoint location:           %s\\n' "$location"
}`;

/**
 * Bash functions for the stop script. PostgreSQL's shutdown (up to 16 at least) tells its WAL senders to
 * stop and then checks, in a loop with a fixed 10 ms sleep, that they did; they never have at its first
 * check, made right after telling them, so every planned switchover with a standby waits those 10 ms
 * before its shutdown checkpoint can start. The sleep (pg_usleep: select or nanosleep) ends at the
 * first signal the checkpointer handles. SIGUSR1 is the one its own kind sends it (procsignal): with no
 * reason attached it only sets the process's latch, a wake-up every PostgreSQL process must tolerate.
 * `find_checkpointer <postmaster pid>` finds, without a fork, the postmaster's child whose title says
 * `checkpointer` (`postgres: checkpointer`, with the cluster's name where one is set) and sets
 * `checkpointer`; `still_child <pid> <postmaster pid>` checks, before every signal, that it is still that
 * postmaster's child, so a reused pid is never signalled. Where /proc cannot tell (another OS, hidepid),
 * nothing is signalled and the shutdown takes its usual course. Exported for tests.
 */
export const CHECKPOINTER_NUDGE = `find_checkpointer() {
  local stat
  checkpointer=
  for stat in /proc/[0-9]*/stat; do
    if still_child "\${stat:6:-5}" "$1"; then checkpointer=\${stat:6:-5}; return 0; fi
  done
  return 0
}
still_child() {
  local cmd
  local -a fields
  { read -r -a fields < "/proc/$1/stat"; } 2>/dev/null || return 1
  [ "\${fields[3]}" = "$2" ] || return 1
  { IFS= read -r -d '' cmd < "/proc/$1/cmdline"; } 2>/dev/null
  [[ $cmd == *': checkpointer'* ]]
}`;

/**
 * The switchover's command with a relay, run as the SSH user (who holds the job's pinned key and peer
 * connection): starts the relay (argv: the target's psql through the peer SSH connection), which connects
 * at once, and the stop (argv, as the cluster's user, gated itself); waits at its own gate; runs the app's
 * quiesce commands if it was given any; then opens the stop's gate and passes the stop's output on, line
 * by line. Once that output names the shutdown checkpoint (the early line, else the control file's reading
 * of a clean shutdown after the exit) it sends the target's psql, once, the checkpoint as the session's
 * CHECKPOINT_SETTING and then the guarded promotion's SQL, and closes psql's input so that psql ends
 * once the SQL has. The LSN reaching the SQL is matched as hex/hex; nothing else does. psql's
 * answers are passed on prefixed PROMOTION_PREFIX, and the stop's exit status as `stop exited <status>`
 * once the control file's reading after the exit is all out. A relay that is gone (its ssh failed) loses the write:
 * the caller sees no answer and promotes through the portal. Arguments: psql's first line (or ''), the
 * SQL, then the relay, the stop and each of the app's quiesce commands (SwitchoverRelay.quiesceFirst), each
 * as its word count and its words.
 */
const RELAYED_SWITCHOVER = [
  'greeting=$1 promotion_sql=$2',
  'shift',
  'relay=("${@:3:$2}")',
  'shift "$((2 + $2))"',
  'stop=("${@:2:$1}")',
  'shift "$((1 + $1))"',
  `exec 5> >("\${relay[@]}" | while IFS= read -r line; do printf '${PROMOTION_PREFIX}%s\\n' "$line"; done) || exit`,
  'relaying=yes',
  // psql says on stderr once it is connected, where it can (SwitchoverRelay.tellsConnected).
  `if [ -n "$greeting" ]; then trap '' PIPE; printf '%s\\n' "$greeting" >&5; trap - PIPE; fi`,
  // The stop (gated: started now, as the cluster's user) without the relay's input, which must close when the relay is done.
  'coproc STOP { exec 5>&-; exec "${stop[@]}"; }',
  // Bash closes a coprocess's descriptors once it has reaped it: its last output is read through copies.
  'stop_pid=$STOP_PID',
  'exec 7<&"${STOP[0]}" 8>&"${STOP[1]}"',
  'relay_promotion() {',
  '  [ -n "$relaying" ] || return 0',
  '  relaying=',
  "  trap '' PIPE",
  `  printf "SET ${CHECKPOINT_SETTING} TO '%s';\\n%s\\n" "$1" "$promotion_sql" >&5`,
  '  exec 5>&-',
  '  trap - PIPE',
  '}',
  GATE_LINE,
  // The app's quiesce commands, if any: each its word count, then its words; their output goes to stderr.
  'if (($#)); then',
  '  while (($#)); do',
  '    "${@:2:$1}" < /dev/null >&2 || exit',
  '    shift "$((1 + $1))"',
  '  done',
  `  echo ${QUIESCED_LINE}`,
  'fi',
  "printf 'go\\n' >&8",
  'exec 8>&-',
  'state= location=',
  'while IFS= read -r -u 7 line; do',
  '  if [[ $line =~ ^shutdown\\ checkpoint\\ ([0-9A-F]{1,8}/[0-9A-F]{1,8})$ ]]; then relay_promotion "${BASH_REMATCH[1]}"',
  '  elif [[ $line =~ ^Database\\ cluster\\ state:\\ +(.*)$ ]]; then state=${BASH_REMATCH[1]}',
  '  elif [[ $line =~ ^Latest\\ checkpoint\\ location:\\ +([0-9A-F]{1,8}/[0-9A-F]{1,8})$ ]]; then location=${BASH_REMATCH[1]}',
  '  fi',
  '  printf "%s\\n" "$line"',
  'done',
  'wait "$stop_pid"',
  'status=$?',
  `printf '${STOP_EXITED_PREFIX}%d\\n' "$status"`,
  'if ((status == 0)) && [ "$state" = "shut down" ] && [ -n "$location" ]; then relay_promotion "$location"; fi',
  'exit "$status"',
].join('\n');

/** argv as its word count, then its words: how RELAYED_SWITCHOVER takes the lists it runs. */
function counted(argv: readonly string[]): string[] {
  return [String(argv.length), ...argv];
}

/** The stop script's early line (CONTROL_FILE_READER's tell_shutdown_checkpoint). */
export const SHUTDOWN_CHECKPOINT_LINE = /^shutdown checkpoint ([0-9A-F]{1,8}\/[0-9A-F]{1,8})$/;

/** Commands against one PostgreSQL cluster on one host, as the cluster's OS user. */
export class PostgresOnHost {
  constructor(
    readonly shell: HostShell,
    private readonly host: MigrationHost,
    readonly pg: PostgresHost,
  ) {}

  private argv(program: string, args: string[]): string[] {
    return asUser(this.host, this.pg.osUser, [posix.join(this.pg.bin, program), ...args]);
  }

  /** One query's rows as `|`-separated text (psql -At); throws on error. */
  async query(sql: string, signal?: AbortSignal, database = 'postgres'): Promise<string> {
    const result = await this.shell.run(
      this.argv('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.pg.socketDir, '-p', String(this.pg.port), '-d', database, '-c', sql]),
      { signal },
    );
    return result.stdout.trim();
  }

  /**
   * psql connects at once and runs the SQL when `sql` resolves (the connection's cost is paid while the
   * caller still waits for what to run); nothing runs if it rejects.
   */
  async queryWhenReady(sql: Promise<string>, signal?: AbortSignal, database = 'postgres'): Promise<string> {
    const result = await this.shell.run(this.scriptArgv(database), { signal, stdin: sql });
    return result.stdout.trim();
  }

  /** psql running the script on its input, as this cluster's OS user (argv for this host). */
  scriptArgv(database = 'postgres'): string[] {
    return this.argv('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.pg.socketDir, '-p', String(this.pg.port), '-d', database, '-f', '-']);
  }

  /** Several statements in one psql run, each in its own transaction (one `-c` each), stopping at an error. */
  async statements(sqls: string[], signal?: AbortSignal, database = 'postgres'): Promise<void> {
    await this.shell.run(
      this.argv('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.pg.socketDir, '-p', String(this.pg.port), '-d', database, ...sqls.flatMap(sql => ['-c', sql])]),
      { signal },
    );
  }

  /** running | stopped | absent (no cluster in the data directory). */
  async status(signal?: AbortSignal): Promise<'running' | 'stopped' | 'absent'> {
    const result = await this.shell.run(this.argv('pg_ctl', ['-D', this.pg.dataDir, 'status']), { signal, check: false });
    if (result.exitCode === 0) return 'running';
    if (result.exitCode === 3) return 'stopped';
    return 'absent';
  }

  async start(signal?: AbortSignal): Promise<void> {
    // pg_ctl hands -o to a shell: every value here is a validated plain path, host or number.
    const options = `-p ${this.pg.port} -k ${this.pg.socketDir} -h ${this.pg.address}`;
    const logFile = this.pg.logFile ?? posix.join(posix.dirname(this.pg.dataDir), `postgresql-${this.pg.port}.log`);
    await this.shell.run(this.argv('pg_ctl', ['-D', this.pg.dataDir, '-l', logFile, '-w', '-t', '120', '-o', options, 'start']), {
      signal,
    });
  }

  async stop(mode: 'fast' | 'immediate', signal?: AbortSignal): Promise<void> {
    await this.shell.run(this.argv('pg_ctl', ['-D', this.pg.dataDir, '-m', mode, '-w', '-t', '120', 'stop']), { signal });
  }

  /**
   * Stops the cluster and returns the control file's fields once the postmaster has exited. `pg_ctl stop
   * -w` checks for that every 100 ms; inside the downtime window the stop is requested as `pg_ctl stop -W`
   * does it, without its process: the postmaster's pid from the first line of its pid file, SIGINT for a
   * fast shutdown (SIGQUIT immediate), and that pid file, the very thing pg_ctl waits on, is watched every
   * 2 ms instead (at most 120 s; the process itself can linger as a zombie until its parent reaps it).
   * The wait forks nothing (a `sleep` per round took CPU from the shutdown it waited for): bash's
   * `read -t 0.002` on a pipe it holds both ends of waits out its timeout. The bound counts rounds, so a
   * read that stopped waiting fails fast instead of spinning.
   * `onShutdownCheckpoint` is told the shutdown checkpoint as soon as the control file records it, about
   * 20 ms before the postmaster exits (its WAL senders still hand the standby the last WAL, then the
   * processes end): see CONTROL_FILE_READER. The fields returned are read after the exit all the same
   * (print_control_data, or pg_controldata for a layout it does not know).
   * The script is a constant: data directory, signal and program arrive as its arguments, never as shell
   * text. Fails on a cluster that is not running (no pid file).
   */
  async stopAndWait(mode: 'fast' | 'immediate', signal?: AbortSignal, onShutdownCheckpoint?: (lsn: string) => void): Promise<Record<string, string>> {
    const onStdout = onShutdownCheckpoint && watchShutdownCheckpoint(onShutdownCheckpoint);
    return switchoverResult((await this.shell.run(this.stopArgv(mode, false), { signal, onStdout })).stdout).fields;
  }

  /**
   * stopAndWait started ahead (readyCommands.ts): runuser and bash wait at the gate; fireSwitchover runs the
   * stop. Nothing stops unless it is fired. With `relay` (an argv run on this host: the target's psql
   * through the peer SSH connection, started now and connected) the script hands the target the guarded
   * promotion itself the moment it knows the shutdown checkpoint (promotionSql with the checkpoint as
   * `fediversity.checkpoint_lsn`), host to host: the portal is not on that path. psql's answers come back
   * in the script's output, each line prefixed `promotion `, and the command ends when both the stop
   * (the control file read after the exit) and psql (the promotion watched to its end) have.
   */
  startSwitchover(mode: 'fast' | 'immediate', relay?: SwitchoverRelay): ReadyCommand {
    const argv = relay
      ? [
          'bash', '-c', RELAYED_SWITCHOVER, 'bash',
          relay.tellsConnected ? `\\warn ${AT_GATE_LINE}` : '',
          relay.promotionSql,
          ...counted(relay.argv),
          ...counted(this.stopArgv(mode, true)),
          ...(relay.quiesceFirst ?? []).flatMap(counted),
        ]
      : this.stopArgv(mode, true);
    // Its own gate and the stop's, and psql's line where it tells.
    const gates = relay ? 2 + (relay.tellsConnected ? 1 : 0) : 1;
    return startReady(this.shell, argv, { gate: true, gates, check: false });
  }

  /**
   * Fires (or, fired already, hears again from its start) the switchover and returns its reading once the
   * command ends, or with `endAtPromotionEnd` as soon as the stop exited cleanly and psql gave its second
   * answer (the promotion's end): psql's exit and the relay's teardown, a few ms, are then not waited for.
   */
  async fireSwitchover(
    ready: ReadyCommand,
    signal?: AbortSignal,
    watch: SwitchoverWatch = {},
    options: { endAtPromotionEnd?: boolean } = {},
  ): Promise<SwitchoverResult> {
    let heard = '';
    let stopStatus: number | undefined;
    let answers = 0;
    let settled = false;
    let settle!: (result: SwitchoverResult) => void;
    const promotionEnded = new Promise<SwitchoverResult>(resolve => (settle = resolve));
    const onLines = watchLines(line => {
      const early = SHUTDOWN_CHECKPOINT_LINE.exec(line);
      if (early) watch.onShutdownCheckpoint?.(early[1]);
      const exited = STOP_EXITED_LINE.exec(line);
      if (exited) stopStatus = Number(exited[1]);
      if (line.startsWith(PROMOTION_PREFIX)) {
        answers++;
        watch.onPromotionAnswer?.(line.slice(PROMOTION_PREFIX.length));
      }
      if (!settled && stopStatus === 0 && answers >= 2) {
        settled = true;
        settle(switchoverResult(heard.slice(0, heard.lastIndexOf('\n'))));
      }
      return false;
    });
    const onStdout = (text: string) => {
      heard += text;
      onLines(text);
    };
    const ended = ready.fire('', signal, onStdout).then(result => {
      if (result.exitCode !== 0) {
        throw new Error(`Stopping the database on the ${this.shell.role} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
      }
      return switchoverResult(result.stdout);
    });
    if (!options.endAtPromotionEnd) return ended;
    ended.catch(() => undefined);
    return Promise.race([promotionEnded, ended]);
  }

  private stopArgv(mode: 'fast' | 'immediate', gate: boolean): string[] {
    const script = [
      'export LC_ALL=C',
      CONTROL_FILE_READER,
      CHECKPOINTER_NUDGE,
      // Found before the gate, where the walk through /proc costs the window nothing.
      '{ IFS= read -r pid < "$1/postmaster.pid" && [[ $pid =~ ^[1-9][0-9]*$ ]] && find_checkpointer "$pid"; } 2>/dev/null',
      ...(gate ? [GATE_LINE] : []),
      'IFS= read -r pid < "$1/postmaster.pid" || exit',
      '[[ $pid =~ ^[1-9][0-9]*$ ]] || { echo "no postmaster pid in $1/postmaster.pid" >&2; exit 1; }',
      // Only a fast shutdown makes a shutdown checkpoint (an immediate one has its processes quit).
      '[ "$2" = INT ] || checkpointer=',
      'kill -s "$2" "$pid" || exit',
      'exec 3<> <(:) || exit',
      'i=0 told=',
      'while [ -e "$1/postmaster.pid" ]; do',
      '  if ((++i > 60000)); then echo "the postmaster did not exit within 120 s" >&2; exit 1; fi',
      // The pid file says "stopping" once the postmaster took the request; the control file changes at the
      // shutdown checkpoint's start. In between the checkpointer may sleep out its wait for the WAL senders.
      '  if [ -z "$told" ] && [ "$1/global/pg_control" -ot "$1/postmaster.pid" ]; then',
      '    [ -z "$checkpointer" ] || { still_child "$checkpointer" "$pid" && kill -s USR1 "$checkpointer"; } 2>/dev/null || checkpointer=',
      '  elif [ -z "$told" ]; then',
      '    tell_shutdown_checkpoint "$1/global/pg_control"',
      '  fi',
      '  read -r -t 0.002 -u 3 || :',
      'done',
      'exec 3<&-',
      'print_control_data "$1/global/pg_control" || exec "$3" -D "$1"',
    ].join('\n');
    const shutdownSignal = mode === 'fast' ? 'INT' : 'QUIT';
    return asUser(this.host, this.pg.osUser, ['bash', '-c', script, 'bash', this.pg.dataDir, shutdownSignal, posix.join(this.pg.bin, 'pg_controldata')]);
  }

  /**
   * As the SSH user, without switching to the cluster's (unlike pg_ctl, pg_controldata runs as root, and a
   * user who cannot switch could not switch either way); LC_ALL=C keeps the field names in English.
   */
  async controlData(signal?: AbortSignal): Promise<Record<string, string>> {
    const argv = ['env', 'LC_ALL=C', posix.join(this.pg.bin, 'pg_controldata'), '-D', this.pg.dataDir];
    const result = await this.shell.run(argv, { signal, check: false });
    if (result.exitCode !== 0) {
      throw new Error(`pg_controldata on the ${this.shell.role} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    }
    return parseControlData(result.stdout);
  }

  async majorVersion(signal?: AbortSignal): Promise<number> {
    const result = await this.shell.run([posix.join(this.pg.bin, 'postgres'), '--version'], { signal });
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(result.stdout);
    if (!match) throw new Error(`Cannot read the PostgreSQL version on the ${this.shell.role}: ${result.stdout}`);
    return Number(match[1]);
  }

  /**
   * Runs a PostgreSQL client program (pg_basebackup, …) as the cluster's OS user, with `environment`
   * (`NAME=value` words, e.g. PGPASSFILE: libpq reads the password from that file, never from an argument).
   */
  async program(program: string, args: string[], signal?: AbortSignal, options: { environment?: string[]; check?: boolean } = {}) {
    const environment = options.environment?.length ? ['env', ...options.environment] : [];
    const argv = asUser(this.host, this.pg.osUser, [...environment, posix.join(this.pg.bin, program), ...args]);
    return this.shell.run(argv, { signal, check: options.check });
  }
}

/** An onStdout observer that tells `onCheckpoint` the LSN of the stop script's early line, once. */
export function watchShutdownCheckpoint(onCheckpoint: (lsn: string) => void): (text: string) => void {
  return watchLines(line => {
    const match = SHUTDOWN_CHECKPOINT_LINE.exec(line);
    if (match) onCheckpoint(match[1]);
    return match !== null;
  });
}

export interface SwitchoverRelay {
  /** Run on this host: the target's psql, connected through the peer SSH connection, reading its script. */
  argv: readonly string[];
  /** The guarded promotion (promotionSql), sent once the checkpoint is known, after the checkpoint's setting. */
  promotionSql: string;
  /**
   * The app's quiesce commands, run in turn (as the SSH user, their output to stderr) once the gate opens
   * and before the stop: the first to fail ends the command with its exit status, stopping nothing; once
   * all succeeded the output says QUIESCED_LINE and the stop follows on the host, with no round trip to
   * the portal in between.
   */
  quiesceFirst?: readonly (readonly string[])[];
  /**
   * The relay's psql has `\warn` (PostgreSQL ≥ 13): it is sent one first, which prints AT_GATE_LINE on
   * stderr once psql is connected, so the command counts as waiting only then (ReadyCommand.waiting).
   */
  tellsConnected?: boolean;
}

export interface SwitchoverWatch {
  /** The stop script's early reading of the shutdown checkpoint. */
  onShutdownCheckpoint?: (lsn: string) => void;
  /** Each line the relayed psql answers (promotionState reads it). */
  onPromotionAnswer?: (answer: string) => void;
}

export interface SwitchoverResult {
  /** The control file's reading after the postmaster's exit (pg_controldata's lines, or print_control_data's alike). */
  fields: Record<string, string>;
  /** The relayed psql's answers, in order: none where nothing was relayed. */
  promotionAnswers: string[];
}

/** The stop script's output: its early line, the relay's tagged answers, and the control file's lines. */
function switchoverResult(output: string): SwitchoverResult {
  const lines = output.split('\n');
  const promotionAnswers = lines.filter(line => line.startsWith(PROMOTION_PREFIX)).map(line => line.slice(PROMOTION_PREFIX.length));
  const controlData = lines.filter(
    line => !line.startsWith(PROMOTION_PREFIX) && !SHUTDOWN_CHECKPOINT_LINE.test(line) && !STOP_EXITED_LINE.test(line) && line !== QUIESCED_LINE,
  );
  return { fields: parseControlData(controlData.join('\n')), promotionAnswers };
}

/** pg_controldata's `Name: value` lines as a record (run with LC_ALL=C, so the names are English). */
function parseControlData(output: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** The replication slot of a migration job on the source (allow-listed characters only). */
export function slotName(jobId: string): string {
  return `fediversity_${jobId.replace(/[^a-f0-9]/gi, '').slice(0, 24).toLowerCase()}`;
}

/** Both hosts' clusters of a migration; `method` names the strategy in the error when one is not described. */
export function postgresClusters(env: StrategyEnv, method: string): { source: PostgresOnHost; target: PostgresOnHost } {
  const { source, target } = env.params;
  if (!source.postgres || !target.postgres) {
    throw new PermanentJobError(`${method} needs source.postgres and target.postgres`);
  }
  return {
    source: new PostgresOnHost(env.source, source, source.postgres),
    target: new PostgresOnHost(env.target, target, target.postgres),
  };
}

export const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;

export function assertLsn(value: string, what: string): string {
  if (!LSN.test(value)) throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
  return value;
}

/** An LSN (`16/B374D848`) as the 64-bit WAL position it names, for comparing two of them. */
export function lsnPosition(lsn: string): bigint {
  const [high, low] = assertLsn(lsn, 'LSN').split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}
