import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNixInstantiate, isNixInstantiateAvailable, NixInstantiate } from './nixInstantiate';

describe('nix-instantiate runner', () => {
  jest.setTimeout(60_000);
  let nix: NixInstantiate | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fediversity-nix-instantiate-'));
    if (!(await isNixInstantiateAvailable())) {
      // eslint-disable-next-line no-console
      console.warn('SKIPPED: nix-instantiate is not installed (apt-get install nix-bin)');
      return;
    }
    nix = await createNixInstantiate();
  });

  afterAll(async () => {
    await nix?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('parses many files in one run and names the first one that does not parse', async () => {
    if (!nix) return;
    const good = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const file = join(dir, `good-${i}.nix`);
        await writeFile(file, `{ value = ${i}; text = "\${toString ${i}}"; }\n`);
        return file;
      }),
    );
    await expect(nix.parseFiles(good)).resolves.toBeUndefined();
    await expect(nix.parseFiles([])).resolves.toBeUndefined();

    const broken = join(dir, 'broken.nix');
    await writeFile(broken, '{ a = ; }\n');
    await expect(nix.parseFiles([...good.slice(0, 3), broken, ...good.slice(3)])).rejects.toThrow(
      /nix-instantiate --parse failed: error: syntax error[\s\S]*broken\.nix:1:7/,
    );
  });

  it('refuses a relative path (it could be read as an option) without running anything', async () => {
    if (!nix) return;
    await expect(nix.parseFiles([join(dir, 'a.nix'), '--eval'])).rejects.toThrow(
      'nix-instantiate needs an absolute file path, got "--eval"',
    );
  });
});
