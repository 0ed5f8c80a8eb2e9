import { generateSshKeyPair } from '@fediversity/plugin-fediversity-node';
import { CommandResult, HostShell } from './hosts';
import { migrationParamsSchema } from './params';
import { jobDirectory, knownHostsPath, rsyncFromSource } from './rsync';
import { StrategyEnv } from './strategy';

const JOB = '7c6c4d26-1ad8-4bd1-8973-8348c30c5b36';

/** A source host that records every command and answers rsync with the scripted exit codes in turn. */
function sourceHost(rsyncExitCodes: number[]) {
  const commands: string[][] = [];
  const host: HostShell = {
    role: 'source',
    async run(argv): Promise<CommandResult> {
      commands.push([...argv]);
      const exitCode = argv[0] === 'rsync' ? (rsyncExitCodes.shift() ?? 0) : 0;
      return { exitCode, stdout: '', stderr: exitCode ? 'ssh: connect to host target.example: Host key verification failed.' : '' };
    },
  };
  return { host, commands };
}

function env(source: HostShell): StrategyEnv {
  const key = (name: string) => ({ secretRef: name });
  const params = migrationParamsSchema.parse({
    app: { name: 'testapp', dataClasses: [{ name: 'media', kind: 'directories', directories: ['/var/lib/app'], replication: 'rsync-quiesced', quiesce: [['systemctl', 'stop', 'app']], unquiesce: [['systemctl', 'start', 'app']] }] },
    source: { host: 'source.example', username: 'root', hostKey: 'SHA256:c291cmNlLWtleQ', hostPublicKey: generateSshKeyPair('source').publicKey, privateKey: key('s') },
    target: { host: 'target.example', username: 'root', hostKey: 'SHA256:dGFyZ2V0LWtleQ', hostPublicKey: generateSshKeyPair('target').publicKey, privateKey: key('t') },
    peer: { identityFile: '/root/.ssh/migration_ed25519' },
  });
  return {
    jobId: JOB,
    params,
    source,
    target: { role: 'target', run: async () => ({ exitCode: 0, stdout: '', stderr: '' }) },
    signal: new AbortController().signal,
    checkpoint: {},
    saveCheckpoint: async () => {},
    log: async () => {},
    sleep: async () => {},
    now: () => 0,
  };
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
    expect(commands.map(argv => argv[0])).toEqual(['rsync', 'mkdir', 'test', 'chmod', 'tee', 'rsync']);
    // The pinned key goes into the job's own directory, checked to be the SSH user's and not a symlink first.
    expect(knownHostsPath(JOB)).toBe(`${jobDirectory(JOB)}/known_hosts`);
    expect(commands[1]).toEqual(['mkdir', '-p', '-m', '0700', '--', jobDirectory(JOB)]);
    expect(commands[2]).toEqual(['test', '-O', jobDirectory(JOB), '-a', '-d', jobDirectory(JOB), '-a', '!', '-L', jobDirectory(JOB)]);
    expect(commands[4]).toEqual(['tee', '--', knownHostsPath(JOB)]);
  });

  it('refuses a job directory that is not the SSH user’s own', async () => {
    const commands: string[][] = [];
    const host: HostShell = {
      role: 'source',
      async run(argv): Promise<CommandResult> {
        commands.push([...argv]);
        const exitCode = argv[0] === 'rsync' ? 255 : argv[0] === 'test' ? 1 : 0;
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
});
