import { CommandResult, HostRole, HostShell, watchLines } from './hosts';
import type { StrategyReadyCommands } from './strategy';

/** What a script started ahead prints on stderr when it waits at its gate (GATE_LINE); taken out of its result. */
export const AT_GATE_LINE = 'fediversity: at the gate';

/**
 * The first line of a script started ahead (see startReady): it says on stderr that it waits (AT_GATE_LINE),
 * goes on only when its input begins with `go`, and ends with exit 125 on anything else, an early EOF
 * included (a session closed, a job rolled back, a backend killed), having done nothing.
 */
export const GATE_LINE = `echo '${AT_GATE_LINE}' >&2; IFS= read -r go && [ "$go" = go ] || exit 125`;

/** argv run only once the gate opens (GATE_LINE, then exec). */
export function gated(argv: readonly string[]): string[] {
  return ['bash', '-c', `${GATE_LINE}\nexec "$@"`, 'bash', ...argv];
}

/**
 * A command started before it is needed, its input held back: `fire` sends the input and answers with the
 * command's result, `disarm` sends EOF alone. The command must do nothing on an EOF before its input: a
 * gated one (GATE_LINE) exits, psql with an empty script ends. What it takes out of the downtime window is
 * the command's start: an SSH session, a process or two, a connection (psql's, rsync's to the target).
 */
export interface ReadyCommand<Result = CommandResult> {
  readonly role: HostRole;
  /**
   * Sends `input` (a gated command: `go` first, see startReady's `gate`) and waits for the command's end;
   * `signal` (the firing step's) kills it, and `onStdout` is told its output so far, then as it comes. Fired
   * again (a later step taking what an earlier one fired early), it answers the same result; `input` is ignored.
   */
  fire(input: string, signal?: AbortSignal, onStdout?: (text: string) => void): Promise<Result>;
  disarm(): void;
  /** The command ended before it was fired (a broken session): the caller runs it afresh. */
  readonly ended: boolean;
  /**
   * Resolves once the command is all set up and waits for its input (every gate it holds reached, and
   * `readyLine` printed where one was named), or once it ended: the window should not open while ready
   * commands still start processes and connections on its cores.
   */
  readonly waiting: Promise<void>;
}

export interface StartReadyOptions {
  /** argv holds gates (GATE_LINE, `gated(…)`): fire sends `go` before the input. */
  gate: boolean;
  check?: boolean;
  /** How many gates it passes on its way (several processes, each gated); default 1 with `gate`, else 0. */
  gates?: number;
  /** A stdout line that tells that a part without a gate is set up too (e.g. rsync connected to its peer). */
  readyLine?: RegExp;
}

/**
 * Starts `argv` on `host` with its input held back. With `gate` (argv begins with GATE_LINE or is
 * `gated(…)`) fire sends `go` before the input. It outlives the step that started it (not that step's
 * signal, the firing step's ends it), and a session's close ends it.
 */
export function startReady(host: HostShell, argv: readonly string[], options: StartReadyOptions): ReadyCommand {
  let send!: (input: string) => void;
  let cancel!: () => void;
  const input = new Promise<string>((resolve, reject) => {
    send = resolve;
    cancel = () => reject(new Error('disarmed'));
  });
  input.catch(() => undefined);
  let fired = false;
  let ended = false;
  const abort = new AbortController();
  const observers: Array<(text: string) => void> = [];
  // A later step's observer first hears what an earlier step's firing already printed.
  let printed = '';
  let gatesToReach = options.gates ?? (options.gate ? 1 : 0);
  let readyLineSeen = options.readyLine === undefined;
  let tellWaiting!: () => void;
  const waiting = new Promise<void>(resolve => (tellWaiting = resolve));
  const checkWaiting = () => {
    if (gatesToReach <= 0 && readyLineSeen) tellWaiting();
  };
  checkWaiting();
  const readyLine = options.readyLine;
  const watchReadyLine =
    readyLine &&
    watchLines(line => {
      readyLineSeen = readyLine.test(line);
      checkWaiting();
      return readyLineSeen;
    });
  const watchGates = watchLines(line => {
    if (line === AT_GATE_LINE) gatesToReach--;
    checkWaiting();
    return gatesToReach <= 0;
  });
  const result = host
    .run(argv, {
      stdin: input,
      check: options.check,
      signal: abort.signal,
      onStdout: text => {
        watchReadyLine?.(text);
        printed += text;
        observers.forEach(observe => observe(text));
      },
      onStderr: watchGates,
    })
    .then(outcome => ({ ...outcome, stderr: withoutGateLines(outcome.stderr) }));
  result.then(
    () => (ended = true),
    () => (ended = true),
  );
  result.then(tellWaiting, tellWaiting);
  return {
    role: host.role,
    fire: (text, signal, onStdout) => {
      if (signal?.aborted) abort.abort(signal.reason);
      signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
      if (onStdout) {
        if (printed) onStdout(printed);
        observers.push(onStdout);
      }
      if (!fired) send(options.gate ? `go\n${text}` : text);
      fired = true;
      return result;
    },
    disarm: () => cancel(),
    get ended() {
      return ended && !fired;
    },
    waiting,
  };
}

/** stderr without the lines gates printed (AT_GATE_LINE): what is left is the command's own. */
export function withoutGateLines(stderr: string): string {
  if (!stderr.includes(AT_GATE_LINE)) return stderr;
  return stderr
    .split('\n')
    .filter(line => line !== AT_GATE_LINE)
    .join('\n');
}

/**
 * `command` with its result read by `read` once, as soon as it ends: a listing fired early is parsed while
 * the step that fired it still waits, not when the step that takes it asks.
 */
export function readingResult<Result>(command: ReadyCommand, read: (result: CommandResult) => Result): ReadyCommand<Result> {
  let result: Promise<Result> | undefined;
  return {
    role: command.role,
    fire: (input, signal, onStdout) => {
      const raw = command.fire(input, signal, onStdout);
      result ??= raw.then(read);
      return result;
    },
    disarm: () => command.disarm(),
    get ended() {
      return command.ended;
    },
    waiting: command.waiting,
  };
}

/**
 * Commands one step of a job started for a later one, by job and name. Kept in memory only: after a crash,
 * or on another backend instance, there are none and the later step runs its command afresh; so a ready
 * command may speed a step up but never decides what it does. At most `perHost` are held per job and host:
 * each holds one of the few sessions an SSH connection runs at once (SESSIONS_PER_HOST), and the
 * steps in between need the others.
 */
export class ReadyCommands {
  private readonly jobs = new Map<string, Map<string, ReadyCommand<unknown>>>();

  constructor(private readonly perHost = 4) {}

  /** Keeps `command` for a later step; disarms it at once where the job holds as many as allowed on its host. */
  keep(jobId: string, name: string, command: ReadyCommand<unknown>): void {
    const commands = this.jobs.get(jobId) ?? new Map<string, ReadyCommand<unknown>>();
    commands.get(name)?.disarm();
    commands.delete(name);
    if (!this.hasRoom(jobId, command.role)) {
      command.disarm();
      return;
    }
    commands.set(name, command);
    this.jobs.set(jobId, commands);
  }

  /** Whether another command may be kept for the job on that host (so none is started only to be disarmed). */
  hasRoom(jobId: string, role: HostRole): boolean {
    const held = [...(this.jobs.get(jobId)?.values() ?? [])].filter(command => command.role === role);
    return held.length < this.perHost;
  }

  /**
   * The command kept under `name`, if it is still waiting (or was fired early); the caller fires or disarms
   * it. Its result is what the step that kept it made it: names are the keeper's own.
   */
  take<Result = CommandResult>(jobId: string, name: string): ReadyCommand<Result> | undefined {
    const commands = this.jobs.get(jobId);
    const command = commands?.get(name);
    commands?.delete(name);
    if (!command || command.ended) return undefined;
    return command as ReadyCommand<Result>;
  }

  /**
   * Fires the command kept under `name` now, with `input`, and keeps it: the step that takes it later gets
   * its result, begun earlier (e.g. a listing started the moment a transfer's data is all in place, while
   * the transfer's processes are still winding down).
   */
  fireEarly(jobId: string, name: string, input: string): boolean {
    const command = this.jobs.get(jobId)?.get(name);
    if (!command || command.ended) return false;
    command.fire(input).catch(() => undefined);
    return true;
  }

  /** The job's commands as one strategy sees them: its names, prefixed with its own. */
  forStrategy(jobId: string, strategy: string): StrategyReadyCommands {
    return {
      keep: (name, command) => this.keep(jobId, `${strategy}:${name}`, command),
      take: <Result>(name: string) => this.take<Result>(jobId, `${strategy}:${name}`),
      hasRoom: role => this.hasRoom(jobId, role),
      fireEarly: (name, input) => this.fireEarly(jobId, `${strategy}:${name}`, input),
    };
  }

  /**
   * Resolves once every command the job holds waits for its input (or ended), or after `timeoutMs`
   * whichever comes first: true if they all did. A command that never tells (a host whose shell prints
   * no gate line) costs the timeout, once, before the window; nothing depends on the answer.
   */
  async allWaiting(jobId: string, timeoutMs: number): Promise<boolean> {
    const commands = [...(this.jobs.get(jobId)?.values() ?? [])];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>(resolve => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([Promise.all(commands.map(command => command.waiting)).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Disarms every command the job holds (a failed step, the job's end). */
  disarmJob(jobId: string): void {
    for (const command of this.jobs.get(jobId)?.values() ?? []) command.disarm();
    this.jobs.delete(jobId);
  }

  disarmAll(): void {
    for (const jobId of [...this.jobs.keys()]) this.disarmJob(jobId);
  }
}
