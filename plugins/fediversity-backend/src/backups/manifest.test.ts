import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localRunner } from '../replication/commandRunner';
import { pctExecRunner } from './guestFiles';
import { compareManifests, computeManifest } from './manifest';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fediversity-manifest-'));
  await mkdir(join(root, 'srv/app/sub'), { recursive: true });
  await writeFile(join(root, 'srv/app/a'), 'alpha');
  await writeFile(join(root, 'srv/app/sub/-rf'), 'looks like an option');
  await writeFile(join(root, 'srv/app/sub/two\nlines'), 'newline in the name');
  await writeFile(join(root, 'srv/outside'), 'not listed');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('file manifests', () => {
  it('hashes every regular file of the listed directories, whatever their names', async () => {
    const manifest = await computeManifest(localRunner, root, ['/srv/app/']);
    expect(manifest).toEqual({
      'srv/app/a': '8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8',
      'srv/app/sub/-rf': expect.stringMatching(/^[0-9a-f]{64}$/),
      'srv/app/sub/two\nlines': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('tells matching, differing, missing and extra files apart', async () => {
    const before = await computeManifest(localRunner, root, ['/srv/app']);
    expect(compareManifests(before, before)).toMatchObject({ ok: true, files: 3, matched: 3 });
    await writeFile(join(root, 'srv/app/a'), 'alphA');
    await rm(join(root, 'srv/app/sub/-rf'));
    await writeFile(join(root, 'srv/app/new'), 'new');
    expect(compareManifests(before, await computeManifest(localRunner, root, ['/srv/app']))).toEqual({
      ok: false,
      files: 3,
      matched: 1,
      differing: ['srv/app/a'],
      missing: ['srv/app/sub/-rf'],
      extra: ['srv/app/new'],
    });
  });

  it('fails on a missing directory instead of returning an empty manifest, and refuses odd paths', async () => {
    await expect(computeManifest(localRunner, root, ['/srv/app', '/srv/gone'])).rejects.toThrow(/gone/);
    await expect(computeManifest(localRunner, root, ['/srv/../etc'])).rejects.toThrow(/Invalid/);
    await expect(computeManifest(localRunner, root, ['srv'])).rejects.toThrow(/Invalid/);
  });

  it('runs in a container through its node with pct exec, argv unchanged', async () => {
    const seen: string[][] = [];
    const runner = pctExecRunner(
      {
        run: async argv => {
          seen.push([...argv]);
          return { exitCode: 0, exitSignal: null, stdout: '', stderr: '' };
        },
      },
      104,
    );
    await computeManifest(runner, '/', ['/var/lib/app']);
    expect(seen[0].slice(0, 6)).toEqual(['pct', 'exec', '104', '--', 'bash', '-o']);
    expect(seen[0].slice(-2)).toEqual(['/', './var/lib/app']);
  });
});
