import { RunResult } from '@fediversity/plugin-fediversity-node';
import { CommandRunner } from './commandRunner';
import { replicateZfs } from './zfs';

/*
 * zfs-fuse has no resumable receive, so the resume path runs here against a recorded-behaviour fake of an OpenZFS
 * pool pair: the target holds a receive_resume_token from an interrupted stream; the run must send with `-t <token>`
 * first, then take its snapshot and send incrementally with `receive -s`.
 */

interface FakeSnapshot {
  name: string;
  guid: string;
}

function ok(stdout = ''): RunResult {
  return { exitCode: 0, exitSignal: null, stdout, stderr: '' };
}

function listing(dataset: string, snapshots: FakeSnapshot[]) {
  return ok(
    [`${dataset}\tguid\t1`, `${dataset}\tcreation\t1000`, `${dataset}\treadonly\ton`, ...snapshots.flatMap((s, i) => [`${dataset}@${s.name}\tguid\t${s.guid}`, `${dataset}@${s.name}\tcreation\t${1000 + i}`])].join('\n'),
  );
}

describe('replicateZfs with resume tokens (OpenZFS behaviour)', () => {
  it('finishes the interrupted stream from its token, then sends the new snapshot resumably', async () => {
    const source: FakeSnapshot[] = [{ name: 'fedi_x_1', guid: '111' }, { name: 'fedi_x_2', guid: '222' }];
    const target: FakeSnapshot[] = [{ name: 'fedi_x_1', guid: '111' }];
    let token = '1-c0ffee-token';
    const sent: string[] = [];
    const tokenQueries = new Set<string>();

    const sourceRunner: CommandRunner = {
      async run(argv) {
        if (argv[0] === 'bash' && argv[2].startsWith('zfs snapshot')) {
          // `zfs snapshot -- "$1@$2" && zfs get …` with the dataset and snapshot name as arguments.
          source.push({ name: argv[argv.length - 1], guid: '333' });
          return listing('tank/app', source);
        }
        if (argv[0] === 'bash') {
          const script = argv[argv.length - 1];
          sent.push(script);
          if (script.includes('zfs send -t')) {
            target.push({ name: 'fedi_x_2', guid: '222' });
            token = '';
          } else if (script.includes('zfs send -I')) {
            const snapshot = source[source.length - 1];
            target.push({ ...snapshot });
          }
          return ok();
        }
        if (argv[1] === 'get') return listing('tank/app', source);
        if (argv[1] === 'destroy') {
          const name = argv[3].split('@')[1];
          source.splice(source.findIndex(s => s.name === name), 1);
          return ok();
        }
        throw new Error(`unexpected source command ${argv.join(' ')}`);
      },
    };
    const targetRunner: CommandRunner = {
      async run(argv) {
        const command = argv.join(' ');
        if (argv[0] === 'bash' && argv[2].startsWith('if zfs get -H -o value receive_resume_token')) {
          // The pool has resumable receive: a token line (the dataset's, or -), then the listing.
          tokenQueries.add(argv.slice(-2).join(' '));
          return ok(`resume-token\t${token || '-'}\n${listing('backup/app', target).stdout}`);
        }
        if (command.startsWith('zfs get -Hp')) return listing('backup/app', target);
        if (argv[0] === 'bash' && argv[2].startsWith('zfs set readonly=on')) return listing('backup/app', target);
        if (argv[1] === 'set') return ok();
        if (argv[1] === 'destroy') {
          const name = argv[3].split('@')[1];
          target.splice(target.findIndex(s => s.name === name), 1);
          return ok();
        }
        throw new Error(`unexpected target command ${command}`);
      },
    };

    const recorded: string[] = [];
    const result = await replicateZfs({
      source: sourceRunner,
      sourceDataset: 'tank/app',
      target: targetRunner,
      targetDataset: 'backup/app',
      peer: { host: '10.0.0.2', port: 22, username: 'repl', knownHostsFile: '/tmp/k' },
      snapshotPrefix: 'fedi_x',
      keepSnapshots: 2,
      now: () => Date.parse('2026-11-25T22:00:00Z'),
      recordCommonPoint: async point => {
        recorded.push(point.guid);
      },
    });

    expect(result).toMatchObject({ mode: 'incremental', resumedFromToken: true, base: 'fedi_x_2', guid: '333' });
    expect([...tokenQueries]).toEqual(['backup backup/app']);
    expect(sent[0]).toMatch(/^zfs send -t 1-c0ffee-token \| ssh .* 'zfs receive -u -s -- backup\/app'$/);
    expect(sent[1]).toMatch(/zfs send -I tank\/app@fedi_x_2 -- tank\/app@fedi_x_20261125T220000000Z \| ssh .*'zfs receive -u -F -s -- backup\/app'$/);
    expect(recorded).toEqual(['333']);
    // A read-only replica is not rolled back by a separate command (receive -F does what is needed).
    // Pruned only after recording, and never the new common snapshot.
    expect(source.map(s => s.name)).toEqual(['fedi_x_2', 'fedi_x_20261125T220000000Z']);
    expect(target.map(s => s.guid)).toEqual(['222', '333']);
  });
});
