import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSshKeyPair } from '@fediversity/plugin-fediversity-node';
import { CommandResult, HostShell } from './hosts';
import { migrationParamsSchema } from './params';
import { AT_GATE_LINE } from './readyCommands';
import { changedEntriesArgv, ensurePeerTrust, itemizedName, jobDirectory, knownHostsPath, rsyncFromSource, watchTransferEnd } from './rsync';
import { StrategyEnv } from './strategy';
import { localHost } from '../testing/localHost';
import { testStrategyEnv } from '../testing/strategyEnv';

const JOB = '7c6c4d26-1ad8-4bd1-8973-8348c30c5b36';

/** A source host that records every command and answers rsync with the scripted exit codes in turn. */
function sourceHost(rsyncExitCodes: number[]) {
  const commands: string[][] = [];
  const stdins: unknown[] = [];
  const host: HostShell = {
    role: 'source',
    async run(argv, options = {}): Promise<CommandResult> {
      commands.push([...argv]);
      stdins.push(options.stdin);
      const exitCode = argv[0] === 'rsync' ? (rsyncExitCodes.shift() ?? 0) : 0;
      return { exitCode, stdout: '', stderr: exitCode ? 'ssh: connect to host target.example: Host key verification failed.' : '' };
    },
  };
  return { host, commands, stdins };
}

function env(source: HostShell): StrategyEnv {
  const key = (name: string) => ({ secretRef: name });
  const params = migrationParamsSchema.parse({
    app: { name: 'testapp', dataClasses: [{ name: 'media', kind: 'directories', directories: ['/var/lib/app'], replication: 'rsync-quiesced', quiesce: [['systemctl', 'stop', 'app']], unquiesce: [['systemctl', 'start', 'app']] }] },
    source: { host: 'source.example', username: 'root', hostKey: 'SHA256:c291cmNlLWtleQ', hostPublicKey: generateSshKeyPair('source').publicKey, privateKey: key('s') },
    target: { host: 'target.example', username: 'root', hostKey: 'SHA256:dGFyZ2V0LWtleQ', hostPublicKey: generateSshKeyPair('target').publicKey, privateKey: key('t') },
    peer: { identityFile: '/root/.ssh/migration_ed25519' },
  });
  return testStrategyEnv({ jobId: JOB, params, source, now: () => 0 });
}

const pass = (mode: 'live' | 'final' | 'verify' | 'rehearsal') => ({ sourcePath: '/var/lib/app/', targetPath: '/var/lib/app/', mode });
const remoteShell = (argv: string[]) => argv[argv.indexOf('-e') + 1];

describe('rsyncFromSource', () => {
  it('sends the window passes through the job’s control connection, and live passes on their own connections', async () => {
    const { host, commands } = sourceHost([]);
    await rsyncFromSource(env(host), pass('final'));
    await rsyncFromSource(env(host), pass('verify'));
    await rsyncFromSource(env(host), pass('live'));
    const [final, verify, live] = commands;
    for (const argv of [final, verify]) {
      expect(remoteShell(argv)).toContain(`-o ControlMaster=no -o ControlPath=${jobDirectory(JOB)}/control`);
    }
    expect(remoteShell(live)).not.toContain('ControlPath');
    expect(verify).toEqual(expect.arrayContaining(['--checksum', '--delete', '--dry-run', '--itemize-changes', '--checksum-choice=xxh128']));
    expect(final).toEqual(expect.arrayContaining(['--delete']));
    expect(final).not.toContain('--checksum');
  });

  it('writes the known_hosts file and runs the pass once more when ssh fails in the window', async () => {
    const { host, commands } = sourceHost([255, 0]);
    const outcome = await rsyncFromSource(env(host), pass('verify'));
    expect(outcome.exitCode).toBe(0);
    expect(commands.map(argv => argv[0])).toEqual(['rsync', 'mkdir', 'test', 'chmod', 'cat', 'tee', 'rsync']);
    // The pinned key goes into the job's own directory, checked to be the SSH user's and not a symlink first.
    expect(knownHostsPath(JOB)).toBe(`${jobDirectory(JOB)}/known_hosts`);
    expect(commands[1]).toEqual(['mkdir', '-p', '-m', '0700', '--', jobDirectory(JOB)]);
    expect(commands[2]).toEqual(['test', '-O', jobDirectory(JOB), '-a', '-d', jobDirectory(JOB), '-a', '!', '-L', jobDirectory(JOB)]);
    expect(commands[4]).toEqual(['cat', knownHostsPath(JOB)]);
    expect(commands[5]).toEqual(['tee', '--', knownHostsPath(JOB)]);
  });

  it('leaves a known_hosts file that already pins the key as it is: a rewrite truncates it under another reader', async () => {
    const commands: string[][] = [];
    let file: string | undefined;
    const host: HostShell = {
      role: 'source',
      async run(argv, options = {}): Promise<CommandResult> {
        commands.push([...argv]);
        if (argv[0] === 'tee') file = String(await options.stdin);
        if (argv[0] === 'cat') return file === undefined ? { exitCode: 1, stdout: '', stderr: 'No such file or directory' } : { exitCode: 0, stdout: file, stderr: '' };
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    };
    const job = env(host);
    await ensurePeerTrust(job);
    expect(file).toMatch(/^target\.example ssh-ed25519 /);
    await ensurePeerTrust(job);
    expect(commands.filter(argv => argv[0] === 'tee')).toHaveLength(1);
    file = 'target.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKey\n';
    await ensurePeerTrust(job);
    expect(commands.filter(argv => argv[0] === 'tee')).toHaveLength(2);
  });

  it('refuses a job directory that is not the SSH user’s own', async () => {
    const commands: string[][] = [];
    const host: HostShell = {
      role: 'source',
      async run(argv): Promise<CommandResult> {
        commands.push([...argv]);
        let exitCode = 0;
        if (argv[0] === 'rsync') exitCode = 255;
        if (argv[0] === 'test') exitCode = 1;
        return { exitCode, stdout: '', stderr: 'Host key verification failed.' };
      },
    };
    await expect(rsyncFromSource(env(host), pass('verify'))).rejects.toThrow(/belongs to another user/);
    expect(commands.map(argv => argv[0])).not.toContain('tee');
  });

  it('fails when ssh fails again, and fails a final pass whose files vanished (exit 24) at once', async () => {
    await expect(rsyncFromSource(env(sourceHost([255, 255]).host), pass('final'))).rejects.toThrow(/exited with 255/);
    const vanished = sourceHost([24]);
    await expect(rsyncFromSource(env(vanished.host), pass('final'))).rejects.toThrow(/exited with 24 \(files vanished/);
    expect(vanished.commands).toHaveLength(1);
    await expect(rsyncFromSource(env(sourceHost([24]).host), pass('live'))).resolves.toMatchObject({ exitCode: 24 });
  });

  it('rehearses the verify before the window: the same dry run with -c, files vanishing under the app tolerated', async () => {
    const { host, commands } = sourceHost([24]);
    await expect(rsyncFromSource(env(host), pass('rehearsal'))).resolves.toMatchObject({ exitCode: 24 });
    expect(commands[0]).toEqual(expect.arrayContaining(['--checksum', '--delete', '--dry-run', '--itemize-changes']));
    expect(remoteShell(commands[0])).toContain('ControlPath=');
  });

  it('limits a final pass to what changed since a time, plus the names given, through the same rsync argv', async () => {
    const { host, commands, stdins } = sourceHost([]);
    await rsyncFromSource(env(host), { ...pass('final'), changedSince: 1795000000.25, alsoNames: ['a/b', ''] });
    const [argv] = commands;
    expect(argv.slice(0, 3)).toEqual(['bash', '-o', 'pipefail']);
    expect(argv.slice(5, 8)).toEqual(['bash', '/var/lib/app/', '1795000000.250000000']);
    const rsync = argv.slice(8);
    expect(rsync[0]).toBe('rsync');
    expect(rsync).toEqual(expect.arrayContaining(['--delete', '--from0', '--files-from=-', '--delete-missing-args']));
    expect(remoteShell(rsync)).toContain('ControlPath=');
    expect(stdins[0]).toBe('go\na/b\0.\0');
  });
});

describe('watchTransferEnd', () => {
  it('tells once, when the client’s transfer-done line is complete, however the output is cut', () => {
    const told: number[] = [];
    const watch = watchTransferEnd(() => told.push(told.length));
    watch('>f.st...... a\nclient_run wait');
    expect(told).toEqual([]);
    watch('ing on 4242');
    expect(told).toEqual([]);
    watch('\n[sender] _exit_cleanup(code=0, file=main.c, line=1394): entered\nclient_run waiting on 4243\n');
    expect(told).toEqual([0]);
  });

  it('tells whether the line was the first thing rsync printed (with its messages on the same stream)', () => {
    const clean: boolean[] = [];
    watchTransferEnd(value => clean.push(value))('\nclient_run waiting on 1\n');
    watchTransferEnd(value => clean.push(value))('rsync: [sender] link_stat "/x" failed: No such file or directory (2)\nclient_run waiting on 1\n');
    const split = watchTransferEnd(value => clean.push(value));
    split('file has vanished: "/var/lib/app/a"');
    split('\nclient_run waiting on 2\n');
    // The line that says it connected is not a message about the transfer.
    watchTransferEnd(value => clean.push(value))('(Client) Protocol versions: remote=32, negotiated=32\nclient_run waiting on 1\n');
    expect(clean).toEqual([true, false, false, true]);
  });

  it('ignores lines that only contain the words', () => {
    const told: string[] = [];
    const watch = watchTransferEnd(() => told.push('told'));
    watch('>f+++++++++ client_run waiting on 1\nsomething client_run waiting on 2\n');
    expect(told).toEqual([]);
  });

  it('a pass that reports its transfer’s end asks rsync for that line; others do not', async () => {
    const { host, commands } = sourceHost([]);
    await rsyncFromSource(env(host), { ...pass('final'), reportsTransferEnd: true });
    await rsyncFromSource(env(host), pass('final'));
    expect(commands[0]).toContain('--debug=EXIT2,PROTO');
    expect(commands[1].some(arg => arg.startsWith('--debug'))).toBe(false);
  });

  describe('a final pass of what changed, ending at a clean transfer end', () => {
    /** A source whose rsync prints `output` (its messages merged in), then exits with `exitCode` only when told. */
    function slowExitHost(output: string, exitCode: number) {
      let exit!: () => void;
      const exited = new Promise<void>(resolve => (exit = resolve));
      const host: HostShell = {
        role: 'source',
        async run(_argv, options = {}) {
          await options.stdin;
          options.onStdout?.(output);
          await exited;
          return { exitCode, stdout: output, stderr: '' };
        },
      };
      return { host, exit };
    }
    const changed = { ...pass('final'), mode: 'final' as const, reportsTransferEnd: true, changedSince: 1_800_000_000 };

    it('ends at the line when rsync reported nothing before it, and logs an exit other than 0 that comes after', async () => {
      const { host, exit } = slowExitHost('client_run waiting on 77\n', 12);
      const logs: string[] = [];
      const transferred: string[] = [];
      const outcome = await rsyncFromSource({ ...env(host), log: async message => void logs.push(message) }, changed, {
        endAtCleanTransfer: true,
        onTransferred: () => transferred.push('told'),
      });
      expect(outcome).toMatchObject({ exitCode: 0, endedAtTransfer: true });
      expect(transferred).toEqual(['told']);
      expect(logs).toEqual([]);
      exit();
      await new Promise(resolve => setImmediate(resolve));
      expect(logs).toEqual(["rsync's final pass exited with 12 after a clean transfer"]);
    });

    it('waits for the exit code when rsync printed a message first (a vanished file is still fatal)', async () => {
      const { host, exit } = slowExitHost('file has vanished: "/var/lib/app/a"\nclient_run waiting on 77\n', 24);
      const result = rsyncFromSource(env(host), changed, { endAtCleanTransfer: true });
      let settled = false;
      result.catch(() => (settled = true));
      await new Promise(resolve => setTimeout(resolve, 20));
      expect(settled).toBe(false);
      exit();
      await expect(result).rejects.toThrow(/exited with 24 \(files vanished: the source was not quiesced\): file has vanished/);
    });

    it('a pass not asked to end early, or of the whole tree (its messages on stderr), ends with rsync', async () => {
      for (const [thePass, options] of [
        [changed, {}],
        [{ ...pass('final'), reportsTransferEnd: true }, { endAtCleanTransfer: true }],
      ] as const) {
        const { host, exit } = slowExitHost('client_run waiting on 77\n', 0);
        let settled = false;
        const result = rsyncFromSource(env(host), thePass, options).then(outcome => {
          settled = true;
          return outcome;
        });
        await new Promise(resolve => setTimeout(resolve, 20));
        expect(settled).toBe(false);
        exit();
        expect((await result).endedAtTransfer).toBeUndefined();
      }
    });
  });

  it('with a real rsync and remote shell: the line comes before rsync exits, with every file in place', async () => {
    const base = mkdtempSync(join(tmpdir(), 'transfer-end-'));
    try {
      const [source, target] = [join(base, 'source'), join(base, 'target')];
      mkdirSync(join(source, 'dir'), { recursive: true });
      for (let index = 0; index < 20; index++) writeFileSync(join(source, 'dir', `f${index}`), `content ${index}`);
      mkdirSync(target);
      writeFileSync(join(target, 'stale'), 'deleted by the pass');
      // A remote shell that runs the server here, as ssh would run it on the target.
      const shell = join(base, 'rsh');
      writeFileSync(shell, '#!/bin/sh\nshift\nexec "$@"\n', { mode: 0o755 });
      let atLine: string[] | undefined;
      const result = await localHost().run(['rsync', '-av', '--delete', '--debug=EXIT2', '-e', shell, `${source}/`, `localhost:${target}/`], {
        onStdout: watchTransferEnd(() => {
          atLine = tree(target);
        }),
      });
      expect(result.exitCode).toBe(0);
      expect(atLine).toEqual(tree(source));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

/** Each entry below root as `name:content` (directories `name/`). */
function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map(name => (statSync(join(root, name)).isDirectory() ? `${name}/` : `${name}:${readFileSync(join(root, name), 'utf8')}`))
    .sort();
}

describe('itemizedName', () => {
  it('reads the name after the 11-character field, deletions and names with spaces included', () => {
    expect(itemizedName('>f.st...... writer/w1.dat')).toBe('writer/w1.dat');
    expect(itemizedName('*deleting   writer/w7.dat')).toBe('writer/w7.dat');
    expect(itemizedName('cd+++++++++  leading space/')).toBe(' leading space');
    expect(itemizedName('.d..t...... ./')).toBe('');
  });
});

describe('changedEntriesArgv, run with a local rsync', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'changed-entries-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const run = async (argv: string[], stdin: string) => ({ code: (await localHost().run(argv, { stdin, check: false })).exitCode });

  it('copies the changed entries, deletes in changed directories only, leaves unchanged subtrees alone', async () => {
    const [source, target] = [join(base, 'source'), join(base, 'target')];
    for (const root of [source, target]) {
      mkdirSync(join(root, 'a', 'sub'), { recursive: true });
      mkdirSync(join(root, 'b'));
      writeFileSync(join(root, 'a', 'gone'), 'old');
      writeFileSync(join(root, 'a', 'sub', 'kept'), 'same');
      writeFileSync(join(root, 'b', 'z'), 'old');
      writeFileSync(join(root, 'b', 'stale'), 'old');
    }
    // On the target only, in a directory the source did not change: not this pass's business (the verify's).
    writeFileSync(join(target, 'a', 'sub', 'only-on-target'), 'x');
    // Gone from the source before the time: only the names given (the rehearsal's findings) reach it.
    rmSync(join(source, 'b', 'stale'));
    await new Promise(resolve => setTimeout(resolve, 20));
    const since = Date.now() / 1000;
    await new Promise(resolve => setTimeout(resolve, 20));
    rmSync(join(source, 'a', 'gone'));
    writeFileSync(join(source, 'a', 'new'), 'new');
    // Rewritten in place: its directory does not change, the file alone is listed.
    writeFileSync(join(source, 'b', 'z'), 'new');
    const rsync = ['rsync', '-aH', '--modify-window=-1', '--delete', '--from0', '--files-from=-', '--delete-missing-args', `${source}/`, `${target}/`];
    // Without the go line (a session closed before the window): rsync gets an empty list, nothing changes.
    const before = tree(target);
    expect((await run(changedEntriesArgv(`${source}/`, since, rsync), '')).code).toBe(125);
    expect(tree(target)).toEqual(before);
    const first = await run(changedEntriesArgv(`${source}/`, since, rsync), 'go\n');
    expect(first.code).toBe(0);
    expect(tree(target)).toEqual(['a/', 'a/new:new', 'a/sub/', 'a/sub/kept:same', 'a/sub/only-on-target:x', 'b/', 'b/stale:old', 'b/z:new']);
    const second = await run(changedEntriesArgv(`${source}/`, since, rsync), 'go\nb/stale\0');
    expect(second.code).toBe(0);
    expect(tree(target)).not.toContain('b/stale:old');
    // A root find cannot enter fails the pass, whatever rsync makes of the empty list.
    expect((await run(changedEntriesArgv(join(base, 'missing'), since, rsync), 'go\n')).code).not.toBe(0);
  });

  it('has rsync print its messages on stdout, before the transfer-done line', async () => {
    const [source, target] = [join(base, 'source'), join(base, 'target')];
    mkdirSync(source);
    mkdirSync(target);
    writeFileSync(join(source, 'a'), 'a');
    // A remote shell that runs the server here, as ssh would on the target (a local copy prints no such line).
    const shell = join(base, 'rsh');
    writeFileSync(shell, '#!/bin/sh\nshift\nexec "$@"\n', { mode: 0o755 });
    // No --delete-missing-args: a name the source lacks is an error rsync reports (exit 23).
    const rsync = ['rsync', '-a', '--debug=EXIT2,PROTO', '-e', shell, '--from0', '--files-from=-', `${source}/`, `localhost:${target}/`];
    const result = await localHost().run(changedEntriesArgv(`${source}/`, 0, rsync), { stdin: 'go\nmissing\0', check: false });
    expect(result.exitCode).toBe(23);
    // Only its gate's line: the walk reached it before its input came.
    expect(result.stderr).toBe(`${AT_GATE_LINE}\n`);
    const lines = result.stdout.split('\n');
    const missing = lines.findIndex(line => line.includes('missing" failed'));
    expect(missing).toBeGreaterThanOrEqual(0);
    // Connected first: the target's rsync answered before the walk's names came.
    expect(lines.findIndex(line => /^\(Client\) Protocol versions: /.test(line))).toBe(0);
    expect(lines.findIndex(line => /^client_run waiting on \d+$/.test(line))).toBeGreaterThan(missing);
  });
});
