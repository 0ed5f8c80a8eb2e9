/**
 * Checks of the repository's nix/ tree with Debian's nix-instantiate (no nixpkgs offline):
 * every file parses, and the pure parts (host description → NixOS options, hosts/ discovery,
 * the flake's outputs wiring) read rendered descriptions back exactly.
 */
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { HOST_APP_NAMES } from '@fediversity/plugin-fediversity-common';
import { renderHostDescription, renderHostDescriptionNix, validateHostDescription } from './hostFiles';
import { describeWithNix, startNixForTests } from './__testUtils__/nixForTests';
import { NixInstantiate } from './nixInstantiate';
import { toNixString } from './nixValue';

const NIX_DIR = resolve(__dirname, '../../../../nix');

async function listNixFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async entry => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listNixFiles(path);
      return entry.name.endsWith('.nix') ? [path] : [];
    }),
  );
  return nested.flat().sort();
}

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Ttk0m8bmW9k3m1uJ4pQeTzX0f1K9U5hVf6yQ8rN1w';
const HOSTILE_MOTD = [
  'Welcome to "social" — ${builtins.readFile /etc/shadow}',
  "'' ${x} $${y} \\${z} \\\\ \\",
  'tabs\tand\r\nCRLF and \u2028 and 😀 and \u202e',
  '"; } // { fediversity.apps.mastodon.enable = false; } // { x = "',
].join('\n');

const hostileDescription = {
  schemaVersion: 1,
  hostname: 'social-1',
  domain: 'social.example.org',
  app: 'mastodon',
  appOptions: { streamingProcesses: 3 },
  sshAuthorizedKeys: [`${KEY} "operator" \${HOME} \\ é 😀`, `${KEY} portal-deploy`],
  acmeEmail: 'o.brien+ops@example.org',
  backupTargets: [
    { name: 'offsite', repository: 's3:https://s3.example.net/backups/social-1', environmentFile: '/var/lib/fediversity/secrets/offsite.env' },
  ],
  exporters: { enabled: ['node', 'postgres'] },
  motd: HOSTILE_MOTD,
};

describeWithNix()('nix/ tree', () => {
  jest.setTimeout(120_000);
  let nix: NixInstantiate;
  let dir: string;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nix, dir, close } = await startNixForTests('fediversity-nix-flake-'));
  });

  afterAll(() => close?.());

  /** Evaluates an expression written to a file; paths reach it only through toNixString. */
  async function evaluate(name: string, expression: string): Promise<unknown> {
    const file = join(dir, `${name}.nix`);
    await writeFile(file, `${expression}\n`);
    return nix.evalFileToJson(file);
  }
  const nixPath = (...parts: string[]) => toNixString(join(...parts));

  it('parses every .nix file under nix/', async () => {
    const files = await listNixFiles(NIX_DIR);
    expect(files.map(file => relative(NIX_DIR, file))).toEqual(
      expect.arrayContaining([
        'flake.nix',
        'lib/mkHost.nix',
        'lib/hostSettings.nix',
        'modules/common.nix',
        ...HOST_APP_NAMES.map(app => `modules/apps/${app}.nix`),
      ]),
    );
    const failures: string[] = [];
    for (const file of files) {
      await nix.parseFile(file).catch((error: Error) => failures.push(error.message));
    }
    expect(failures).toEqual([]);
  });

  it('lists the same apps as the host description schema', async () => {
    expect(await evaluate('apps', `import ${nixPath(NIX_DIR, 'lib/apps.nix')}`)).toEqual([...HOST_APP_NAMES]);
  });

  it('maps a hostile description, read from JSON and from .nix, to exactly its values', async () => {
    const description = validateHostDescription(hostileDescription);
    await writeFile(join(dir, 'social-1.json'), renderHostDescription(hostileDescription));
    await writeFile(join(dir, 'social-1-as.nix'), renderHostDescriptionNix(hostileDescription));

    const expected = {
      networking: { hostName: 'social-1' },
      system: { stateVersion: '25.05' },
      fediversity: {
        domain: 'social.example.org',
        sshAuthorizedKeys: description.sshAuthorizedKeys,
        acme: { email: 'o.brien+ops@example.org', staging: false },
        postgresql: { major: 16 },
        backup: {
          targets: {
            offsite: {
              repository: 's3:https://s3.example.net/backups/social-1',
              environmentFile: '/var/lib/fediversity/secrets/offsite.env',
              schedule: 'daily',
            },
          },
        },
        exporters: { enabled: ['node', 'postgres'], openFirewall: false },
        motd: HOSTILE_MOTD,
        apps: { mastodon: { enable: true, streamingProcesses: 3, singleUserMode: false } },
      },
    };
    const settings = (source: string) =>
      `import ${nixPath(NIX_DIR, 'lib/hostSettings.nix')} (import ${nixPath(
        NIX_DIR,
        'lib/readHostDescription.nix',
      )} ${source})`;
    const result = await evaluate(
      'settings',
      `{ fromJson = ${settings(nixPath(dir, 'social-1.json'))}; fromNix = ${settings(nixPath(dir, 'social-1-as.nix'))}; raw = builtins.fromJSON (builtins.readFile ${nixPath(dir, 'social-1.json')}); }`,
    );
    expect(result).toEqual({ fromJson: expected, fromNix: expected, raw: description });
  });

  it('builds nixosConfigurations.<hostname> from hosts/ through the flake', async () => {
    const flakeDir = join(dir, 'flake');
    await cp(NIX_DIR, flakeDir, { recursive: true });
    await mkdir(join(flakeDir, 'hosts'), { recursive: true });
    await writeFile(join(flakeDir, 'hosts', 'social-1.json'), renderHostDescription(hostileDescription));
    await writeFile(
      join(flakeDir, 'hosts', 'pad.nix'),
      renderHostDescriptionNix({ ...hostileDescription, hostname: 'pad', app: 'hedgedoc', appOptions: {} }),
    );
    await writeFile(join(flakeDir, 'hosts', 'README.txt'), 'not a host');

    // nixpkgs stands in as a function returning nixosSystem's arguments.
    const result = (await evaluate(
      'flake',
      `let
        flake = import ${nixPath(flakeDir, 'flake.nix')};
        outputs = flake.outputs { self = { }; nixpkgs = { lib.nixosSystem = args: args; }; };
        host = name: builtins.elemAt outputs.nixosConfigurations.\${name}.modules;
      in {
        nixpkgsUrl = flake.inputs.nixpkgs.url;
        modules = builtins.attrNames outputs.nixosModules;
        hosts = builtins.attrNames outputs.nixosConfigurations;
        padModules = map toString [ (host "pad" 0) (host "pad" 1) ];
        social = (host "social-1" 2).fediversity.apps;
        padMotd = (host "pad" 2).fediversity.motd;
        padApps = (host "pad" 2).fediversity.apps;
        platform = host "pad" 3;
        moduleFilesExist = map builtins.pathExists (builtins.attrValues (removeAttrs outputs.nixosModules [ "default" ]));
      }`,
    )) as Record<string, unknown>;
    expect(result).toEqual({
      nixpkgsUrl: 'github:NixOS/nixpkgs/nixos-25.05',
      modules: [...HOST_APP_NAMES, 'common', 'default'].sort(),
      hosts: ['pad', 'social-1'],
      padModules: [join(flakeDir, 'modules/common.nix'), join(flakeDir, 'modules/apps/hedgedoc.nix')],
      social: { mastodon: { enable: true, streamingProcesses: 3, singleUserMode: false } },
      padMotd: HOSTILE_MOTD,
      padApps: { hedgedoc: { enable: true, allowAnonymous: false, allowEmailRegister: false } },
      platform: { nixpkgs: { hostPlatform: 'x86_64-linux' } },
      moduleFilesExist: Array(HOST_APP_NAMES.length + 1).fill(true),
    });
  });

  it.each([
    ['an unknown app', { app: 'gitlab' }, /app must be one of/],
    ['an unknown field', { extra: true }, /unknown fields/],
    ['an option named _type', { appOptions: { _type: 'override' } }, /camelCase/],
    ['an option named enable', { appOptions: { enable: false } }, /camelCase/],
    ['a hostname with a quote', { hostname: 'a"b' }, /hostname/],
    ['another schema version', { schemaVersion: 2 }, /schemaVersion/],
  ])('refuses a hand-written description with %s', async (_name, change, message) => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ ...validateHostDescription(hostileDescription), ...change }));
    await expect(
      evaluate('bad', `import ${nixPath(NIX_DIR, 'lib/hostSettings.nix')} (builtins.fromJSON (builtins.readFile ${toNixString(file)}))`),
    ).rejects.toThrow(message);
  });

  it('refuses hosts/ whose file name and hostname disagree, or that name a host twice', async () => {
    const hostsDir = join(dir, 'hosts-bad');
    await mkdir(hostsDir, { recursive: true });
    await writeFile(join(hostsDir, 'other.json'), renderHostDescription(hostileDescription));
    const hosts = `builtins.attrNames (import ${nixPath(NIX_DIR, 'lib/hostDirectory.nix')} ${toNixString(hostsDir)})`;
    await expect(evaluate('mismatch', hosts)).rejects.toThrow(/hostname field must be "other"/);

    await rm(join(hostsDir, 'other.json'));
    await writeFile(join(hostsDir, 'social-1.json'), renderHostDescription(hostileDescription));
    await writeFile(join(hostsDir, 'social-1.nix'), renderHostDescriptionNix(hostileDescription));
    await expect(evaluate('twice', hosts)).rejects.toThrow(/given twice/);
  });

  it('renders the reverse-proxy vhost helper', async () => {
    expect(
      await evaluate(
        'vhost',
        `import ${nixPath(NIX_DIR, 'lib/proxyVhost.nix')} { port = 3000; websockets = true; maxBodySizeMb = 20; }`,
      ),
    ).toEqual({
      enableACME: true,
      forceSSL: true,
      locations: { '/': { proxyPass: 'http://127.0.0.1:3000', proxyWebsockets: true } },
      extraConfig: 'client_max_body_size 20m;\n',
    });
  });
});
