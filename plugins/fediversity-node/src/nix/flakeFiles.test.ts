import { resolve } from 'node:path';
import { HOST_APP_NAMES } from '@fediversity/plugin-fediversity-common';
import { readFlakeFiles } from './flakeFiles';

describe('readFlakeFiles', () => {
  it('ships the flake, its lib and every module, and nothing else', async () => {
    const files = await readFlakeFiles(resolve(__dirname, '../../../../nix'));
    const paths = files.map(file => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'flake.nix',
        'lib/mkHost.nix',
        'lib/hostSettings.nix',
        'modules/common.nix',
        'modules/secrets.nix',
        ...HOST_APP_NAMES.map(app => `modules/apps/${app}.nix`),
      ]),
    );
    expect(paths.filter(path => !/\.nix$|^flake\.lock$/.test(path))).toEqual([]);
    expect(paths.some(path => path.startsWith('hosts/'))).toBe(false);
    expect(files.every(file => file.mode === 0o644 && file.content.length > 0)).toBe(true);
  });
});
