import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '@backstage/errors';
import {
  nixosRebuildCommand,
  renderHostDescription,
  renderHostDescriptionNix,
  renderHostFiles,
  validateHostDescription,
} from './hostFiles';
import { hostileString, seededRandom } from './hostileValues';
import { describeWithNix, startNixForTests } from './__testUtils__/nixForTests';
import { NixInstantiate } from './nixInstantiate';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Ttk0m8bmW9k3m1uJ4pQeTzX0f1K9U5hVf6yQ8rN1w';
const base = {
  schemaVersion: 1,
  hostname: 'pad-1',
  domain: 'pad.example.org',
  app: 'hedgedoc',
  sshAuthorizedKeys: [`${KEY} portal`],
  acmeEmail: 'ops@example.org',
};

describe('renderHostDescription', () => {
  it('renders validated JSON with defaults applied', () => {
    const json = renderHostDescription(base);
    expect(json.endsWith('\n')).toBe(true);
    expect(JSON.parse(json)).toEqual(validateHostDescription(base));
    expect(JSON.parse(json).appOptions).toEqual({ allowAnonymous: false, allowEmailRegister: false });
  });

  it('refuses invalid input with an InputError naming each field', () => {
    const attempt = () =>
      renderHostDescription({ ...base, hostname: 'x"; rm -rf /', appOptions: { bogus: 1 } });
    expect(attempt).toThrow(InputError);
    expect(attempt).toThrow(/hostname: must be a lower-case host label/);
    expect(attempt).toThrow(/appOptions: Unrecognized key/);
  });

  it('renders the same description as a Nix file', () => {
    const text = renderHostDescriptionNix({ ...base, motd: 'a "b" ${c}' });
    expect(text).toContain('motd = "a \\"b\\" \\${c}";');
    expect(text.startsWith('# Host description written by the Fediversity portal')).toBe(true);
  });

  it('lists the files to upload under the flake directory', () => {
    expect(renderHostFiles(base)).toEqual([
      { path: 'hosts/pad-1.json', content: renderHostDescription(base), mode: 0o644 },
    ]);
  });
});

describe('nixosRebuildCommand', () => {
  it('builds an argv for the host attribute of the flake', () => {
    expect(nixosRebuildCommand('pad-1')).toEqual({
      argv: ['nixos-rebuild', 'switch', '--flake', '/etc/nixos#pad-1'],
      env: { NIX_CONFIG: 'experimental-features = nix-command flakes' },
    });
  });

  it.each([
    ['pad;reboot', '/etc/nixos'],
    ['pad', '/etc/nixos#other'],
    ['pad', 'etc/nixos'],
    ['pad', '/etc/../root'],
    ['pad', '/etc/nixos dir'],
  ])('refuses hostname %j with flake directory %j', (hostname, flakeDir) => {
    expect(() => nixosRebuildCommand(hostname, flakeDir)).toThrow(InputError);
  });
});

describeWithNix()('host descriptions with generated hostile free text, read back by nix-instantiate', () => {
  jest.setTimeout(120_000);
  let nix: NixInstantiate;
  let dir: string;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nix, dir, close } = await startNixForTests('fediversity-host-files-'));
  });

  afterAll(() => close?.());

  it('gives back 300 descriptions (seed 77) unchanged through JSON and through .nix', async () => {
    const random = seededRandom(77);
    const descriptions = Array.from({ length: 300 }, (_, i) =>
      validateHostDescription({
        ...base,
        hostname: `host-${i}`,
        motd: hostileString(random, 30),
        // Key comments are single-line: the schema refuses control characters there.
        // eslint-disable-next-line no-control-regex -- strips exactly what SSH_PUBLIC_KEY_PATTERN refuses
        sshAuthorizedKeys: [`${KEY} ${hostileString(random, 8).replace(/[\u0000-\u001f\u007f]/g, '') || 'c'}`],
      }),
    );
    const casesDir = join(dir, 'cases');
    await mkdir(casesDir);
    for (const [i, description] of descriptions.entries()) {
      await writeFile(join(casesDir, `${i}.json`), renderHostDescription(description));
      await writeFile(join(casesDir, `${i}.nix`), renderHostDescriptionNix(description));
    }
    await writeFile(
      join(casesDir, 'driver.nix'),
      `map (i: let n = toString i; in {
        fromJson = builtins.fromJSON (builtins.readFile (./. + "/\${n}.json"));
        fromNix = import (./. + "/\${n}.nix");
      }) [ ${descriptions.map((_, i) => i).join(' ')} ]\n`,
    );
    const results = (await nix.evalFileToJson(join(casesDir, 'driver.nix'))) as {
      fromJson: unknown;
      fromNix: unknown;
    }[];
    expect(results).toHaveLength(descriptions.length);
    results.forEach((result, i) => {
      expect(result.fromJson).toEqual(descriptions[i]);
      expect(result.fromNix).toEqual(descriptions[i]);
    });
  });
});
