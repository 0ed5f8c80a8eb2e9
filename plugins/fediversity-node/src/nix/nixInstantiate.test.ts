import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeWithNix, startNixForTests } from './__testUtils__/nixForTests';
import { NixInstantiate } from './nixInstantiate';

describeWithNix()('nix-instantiate runner', () => {
  jest.setTimeout(60_000);
  let nix: NixInstantiate;
  let dir: string;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nix, dir, close } = await startNixForTests('fediversity-nix-instantiate-'));
  });

  afterAll(() => close?.());

  it('parses many files in one run and names the first one that does not parse', async () => {
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
    await expect(nix.parseFiles([join(dir, 'a.nix'), '--eval'])).rejects.toThrow(
      'nix-instantiate needs an absolute file path, got "--eval"',
    );
  });
});
