import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localHost } from '../testing/localHost';
import { CommandResult } from './hosts';
import { AT_GATE_LINE, GATE_LINE, gated, ReadyCommand, ReadyCommands, startReady } from './readyCommands';

describe('startReady', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'ready-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('runs a gated command only when fired, with the input after the go line', async () => {
    const marker = join(base, 'ran');
    const ready = startReady(localHost(), gated(['bash', '-c', 'cat > "$1"', 'bash', marker]), { gate: true, check: false });
    // Started, waiting at the gate: nothing has run.
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(existsSync(marker)).toBe(false);
    expect(ready.ended).toBe(false);
    const result = await ready.fire('the input\n');
    expect(result.exitCode).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('the input\n');
    // Ended after it was fired: still the fired command, not one to run afresh.
    expect(ready.ended).toBe(false);
  });

  it('fired twice, runs once and answers both with the same result; observers see its output as it comes', async () => {
    const count = join(base, 'count');
    const ready = startReady(
      localHost(),
      gated(['bash', '-c', 'echo run >> "$1"; echo early; read -r _ < "$2"; echo late', 'bash', count, join(base, 'fifo')]),
      { gate: true, check: false },
    );
    await localHost().run(['mkfifo', join(base, 'fifo')]);
    let seen = '';
    const first = ready.fire('', undefined, text => (seen += text));
    // The command holds its last line until the fifo is written, which happens only after its first was seen.
    while (seen !== 'early\n') await new Promise(resolve => setTimeout(resolve, 5));
    // A later observer hears what was printed before it came, then the rest.
    let seenLater = '';
    const second = ready.fire('ignored', undefined, text => (seenLater += text));
    expect(seenLater).toBe('early\n');
    await localHost().run(['bash', '-c', 'echo > "$1"', 'bash', join(base, 'fifo')]);
    expect((await first).stdout).toBe('early\nlate\n');
    expect(await second).toBe(await first);
    expect(seenLater).toBe('early\nlate\n');
    expect(readFileSync(count, 'utf8')).toBe('run\n');
  });

  it('is waiting once every gate it holds is reached and its ready line printed; gate lines stay out of its result', async () => {
    const fifo = join(base, 'fifo');
    await localHost().run(['mkfifo', fifo]);
    const script = `echo '${AT_GATE_LINE}' >&2; read -r _ < "$1"; echo connected; echo own >&2; ${GATE_LINE}\necho ran`;
    const ready = startReady(localHost(), ['bash', '-c', script, 'bash', fifo], { gate: true, gates: 2, readyLine: /^connected$/ });
    let waiting = false;
    void ready.waiting.then(() => (waiting = true));
    // The first gate is reached, the line and the second gate wait for the fifo.
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(waiting).toBe(false);
    await localHost().run(['bash', '-c', 'echo > "$1"', 'bash', fifo]);
    await ready.waiting;
    const result = await ready.fire('');
    expect(result.stdout).toBe('connected\nran\n');
    expect(result.stderr).toBe('own\n');
  });

  it('is waiting once it ended, gate or not', async () => {
    const ready = startReady(localHost(), ['bash', '-c', 'exit 3'], { gate: true, check: false });
    await ready.waiting;
    expect(ready.ended).toBe(true);
  });

  it('a disarmed gated command exits 125 having done nothing', async () => {
    const marker = join(base, 'ran');
    const host = localHost();
    let finished: Promise<CommandResult> | undefined;
    const ready = startReady(
      { role: host.role, run: (argv, options) => (finished = host.run(argv, options)) },
      gated(['touch', marker]),
      { gate: true, check: false },
    );
    ready.disarm();
    expect((await finished!).exitCode).toBe(125);
    expect(existsSync(marker)).toBe(false);
  });

  it('a gate opens on go alone, not on other input', async () => {
    const marker = join(base, 'ran');
    const host = localHost();
    let finished: Promise<CommandResult> | undefined;
    const ready = startReady({ role: host.role, run: (argv, options) => (finished = host.run(argv, options)) }, gated(['touch', marker]), {
      gate: false,
      check: false,
    });
    await ready.fire('gone\n');
    expect((await finished!).exitCode).toBe(125);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('ReadyCommands', () => {
  function fake(role: 'source' | 'target', ended = false) {
    const command: ReadyCommand & { disarmed: boolean } = {
      role,
      ended,
      disarmed: false,
      fire: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
      disarm: () => (command.disarmed = true),
      waiting: Promise.resolve(),
    };
    return command;
  }

  it('tells when every command of a job waits at its gate, or gives up after the timeout', async () => {
    const commands = new ReadyCommands();
    let tellWaiting!: () => void;
    const slow = { ...fake('target'), waiting: new Promise<void>(resolve => (tellWaiting = resolve)) };
    commands.keep('job', 'fast', fake('source'));
    commands.keep('job', 'slow', slow);
    expect(await commands.allWaiting('job', 50)).toBe(false);
    tellWaiting();
    expect(await commands.allWaiting('job', 5_000)).toBe(true);
    expect(await commands.allWaiting('no-such-job', 5_000)).toBe(true);
  });

  it('hands a command to the step that takes it, once', () => {
    const commands = new ReadyCommands();
    const stop = fake('source');
    commands.keep('job-1', 'stop', stop);
    expect(commands.take('job-2', 'stop')).toBeUndefined();
    expect(commands.take('job-1', 'stop')).toBe(stop);
    expect(commands.take('job-1', 'stop')).toBeUndefined();
    expect(stop.disarmed).toBe(false);
  });

  it('holds at most perHost per job and host, disarming what it cannot keep', () => {
    const commands = new ReadyCommands(2);
    const [a, b, c, d] = [fake('source'), fake('source'), fake('source'), fake('target')];
    commands.keep('job', 'a', a);
    commands.keep('job', 'b', b);
    expect(commands.hasRoom('job', 'source')).toBe(false);
    commands.keep('job', 'c', c);
    commands.keep('job', 'd', d);
    expect(c.disarmed).toBe(true);
    expect(d.disarmed).toBe(false);
    expect(commands.take('job', 'c')).toBeUndefined();
  });

  it('replaces a command kept under the same name (a retried step), disarming the old one', () => {
    const commands = new ReadyCommands();
    const [first, second] = [fake('source'), fake('source')];
    commands.keep('job', 'stop', first);
    commands.keep('job', 'stop', second);
    expect(first.disarmed).toBe(true);
    expect(commands.take('job', 'stop')).toBe(second);
  });

  it('fires a kept command early and keeps it for the step that takes it', async () => {
    const commands = new ReadyCommands();
    const inputs: string[] = [];
    const listing = {
      ...fake('target'),
      fire: async (input: string) => {
        inputs.push(input);
        return { exitCode: 0, stdout: 'tree', stderr: '' };
      },
    };
    commands.keep('job', 'list', listing);
    expect(commands.fireEarly('job', 'list', '')).toBe(true);
    expect(commands.fireEarly('job', 'missing', '')).toBe(false);
    expect(inputs).toEqual(['']);
    expect(commands.take('job', 'list')).toBe(listing);
  });

  it('does not hand out a command that ended before it was fired; disarmJob disarms the rest', () => {
    const commands = new ReadyCommands();
    const [dead, waiting] = [fake('source', true), fake('target')];
    commands.keep('job', 'dead', dead);
    commands.keep('job', 'waiting', waiting);
    expect(commands.take('job', 'dead')).toBeUndefined();
    commands.disarmJob('job');
    expect(waiting.disarmed).toBe(true);
    expect(commands.take('job', 'waiting')).toBeUndefined();
  });
});
