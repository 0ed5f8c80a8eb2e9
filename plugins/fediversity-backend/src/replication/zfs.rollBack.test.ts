import { RemoteCommandError } from '@fediversity/plugin-fediversity-node';
import { CommandRunner } from './commandRunner';
import { rollBackReplica } from './zfs';

/** A target whose rollbacks fail `failures` times with zfs-fuse's I/O error, then succeed. */
function flakyTarget(failures: number) {
  const commands: string[] = [];
  let failed = 0;
  const runner: CommandRunner = {
    async run(argv, options = {}) {
      commands.push(argv.join(' '));
      const fails = argv[1] === 'rollback' && failed < failures;
      if (fails) failed++;
      const result = { exitCode: fails ? 1 : 0, exitSignal: null, stdout: '', stderr: fails ? "cannot rollback 'pool/app': I/O error" : '' } as any;
      if (fails && options.check !== false) throw new RemoteCommandError(`zfs failed: ${result.stderr}`, 1, null, result.stderr);
      return result;
    },
  };
  return { runner, commands };
}

describe('rollBackReplica', () => {
  it('unmounts and rolls back, trying a failed rollback again after a pause', async () => {
    const { runner, commands } = flakyTarget(1);
    expect(await rollBackReplica(runner, 'pool/app', 'snap-1')).toBe(2);
    expect(commands).toEqual(['zfs unmount pool/app', 'zfs rollback -- pool/app@snap-1', 'zfs unmount pool/app', 'zfs rollback -- pool/app@snap-1']);
  });

  it('reports the error once every attempt failed', async () => {
    const { runner, commands } = flakyTarget(3);
    await expect(rollBackReplica(runner, 'pool/app', 'snap-1')).rejects.toThrow(/I\/O error/);
    expect(commands.filter(command => command.includes('rollback'))).toHaveLength(3);
  });
});
