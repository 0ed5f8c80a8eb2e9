import { posix } from 'node:path';
import { asUser, HostShell } from './hosts';
import { GATE_LINE, ReadyCommand, startReady } from './readyCommands';
import { MigrationHost, PostgresHost } from './params';

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

  /** queryWhenReady started ahead (readyCommands.ts): psql connected, its script sent by fireQuery; an empty one runs nothing. */
  startQuery(database = 'postgres'): ReadyCommand {
    return startReady(this.shell, this.scriptArgv(database), { gate: false, check: false });
  }

  async fireQuery(ready: ReadyCommand, sql: string, signal?: AbortSignal): Promise<string> {
    const result = await ready.fire(sql, signal);
    if (result.exitCode !== 0) {
      throw new Error(`psql on the ${this.shell.role} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    }
    return result.stdout.trim();
  }

  private scriptArgv(database: string): string[] {
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
   * 5 ms instead (at most 120 s; the process itself can linger as a zombie until its parent reaps it).
   * The wait forks nothing (a `sleep` per round took CPU from the shutdown it waited for): bash's
   * `read -t 0.005` on a pipe it holds both ends of waits out its timeout. The bound counts rounds, so a
   * read that stopped waiting fails fast instead of spinning.
   * The script is a constant: data directory, signal and program arrive as its arguments, never as shell
   * text. Fails on a cluster that is not running (no pid file).
   */
  async stopAndWait(mode: 'fast' | 'immediate', signal?: AbortSignal): Promise<Record<string, string>> {
    return parseControlData((await this.shell.run(this.stopArgv(mode, false), { signal })).stdout);
  }

  /**
   * stopAndWait started ahead (readyCommands.ts): runuser and bash wait at the gate; fireStop runs the stop.
   * Nothing stops unless it is fired.
   */
  startStop(mode: 'fast' | 'immediate'): ReadyCommand {
    return startReady(this.shell, this.stopArgv(mode, true), { gate: true, check: false });
  }

  async fireStop(ready: ReadyCommand, signal?: AbortSignal): Promise<Record<string, string>> {
    const result = await ready.fire('', signal);
    if (result.exitCode !== 0) {
      throw new Error(`Stopping the database on the ${this.shell.role} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    }
    return parseControlData(result.stdout);
  }

  private stopArgv(mode: 'fast' | 'immediate', gate: boolean): string[] {
    const script = [
      ...(gate ? [GATE_LINE] : []),
      'IFS= read -r pid < "$1/postmaster.pid" || exit',
      '[[ $pid =~ ^[1-9][0-9]*$ ]] || { echo "no postmaster pid in $1/postmaster.pid" >&2; exit 1; }',
      'kill -s "$2" "$pid" || exit',
      'exec 3<> <(:) || exit',
      'i=0',
      'while [ -e "$1/postmaster.pid" ]; do',
      '  if ((++i > 24000)); then echo "the postmaster did not exit within 120 s" >&2; exit 1; fi',
      '  read -r -t 0.005 -u 3 || :',
      'done',
      'exec 3<&-',
      'export LC_ALL=C',
      'exec "$3" -D "$1"',
    ].join('\n');
    const shutdownSignal = mode === 'fast' ? 'INT' : 'QUIT';
    return asUser(this.host, this.pg.osUser, ['bash', '-c', script, 'bash', this.pg.dataDir, shutdownSignal, posix.join(this.pg.bin, 'pg_controldata')]);
  }

  /**
   * As the SSH user, without switching to the cluster's (unlike pg_ctl, pg_controldata runs as root, and a
   * user who cannot switch could not switch either way); LC_ALL=C keeps the field names in English. With
   * `ready` (startControlData) the reading started before the window is fired instead.
   */
  async controlData(signal?: AbortSignal, ready?: ReadyCommand): Promise<Record<string, string>> {
    const argv = ['env', 'LC_ALL=C', posix.join(this.pg.bin, 'pg_controldata'), '-D', this.pg.dataDir];
    const result = ready ? await ready.fire('', signal) : await this.shell.run(argv, { signal, check: false });
    if (result.exitCode !== 0) {
      throw new Error(`pg_controldata on the ${this.shell.role} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    }
    return parseControlData(result.stdout);
  }

  /** controlData started ahead (readyCommands.ts): bash waits at the gate, then reads the file. */
  startControlData(): ReadyCommand {
    const script = [GATE_LINE, 'export LC_ALL=C', 'exec "$@"'].join('\n');
    return startReady(this.shell, ['bash', '-c', script, 'bash', posix.join(this.pg.bin, 'pg_controldata'), '-D', this.pg.dataDir], { gate: true, check: false });
  }

  async majorVersion(signal?: AbortSignal): Promise<number> {
    const result = await this.shell.run([posix.join(this.pg.bin, 'postgres'), '--version'], { signal });
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(result.stdout);
    if (!match) throw new Error(`Cannot read the PostgreSQL version on the ${this.shell.role}: ${result.stdout}`);
    return Number(match[1]);
  }

  /** Runs a PostgreSQL client program (pg_basebackup, …) as the cluster's OS user. */
  async program(program: string, args: string[], signal?: AbortSignal) {
    return this.shell.run(this.argv(program, args), { signal });
  }
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
