import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DemoGuest } from '../DemoGuest';
import { demoNixosRebuildCommand } from './nixosRebuild';
import { stateDirectoriesOf } from './stateDirectories';
import { makeTestGuest, runDemoCommand } from './testing/runDemoCommand';

/** The repository's nix/ flake, which the portal copies to every guest. */
const NIX_DIR = resolve(__dirname, '../../../../../nix');
const appModule = (app: string) => readFile(join(NIX_DIR, 'modules/apps', `${app}.nix`), 'utf8');

describe('demo state directories', () => {
  it("derives an app's state directories from its NixOS module, leaving out secret files", async () => {
    expect(stateDirectoriesOf('mastodon', await appModule('mastodon'))).toEqual([
      '/var/lib/mastodon',
      '/var/lib/mastodon/public-system',
      '/var/lib/mastodon/secrets',
    ]);
    expect(stateDirectoriesOf('nextcloud', await appModule('nextcloud'))).toEqual(['/var/lib/nextcloud']);
    expect(stateDirectoriesOf('synapse', await appModule('synapse'))).toContain('/var/lib/matrix-synapse');
    expect(stateDirectoriesOf('bind9', await appModule('bind9'))).toContain('/var/lib/named');
    expect(stateDirectoriesOf('x', '"/var/lib/${user}" "/var/lib/x/y.db" "/var/lib/x/secrets/key" "/etc/x"')).toEqual(['/var/lib/x']);
  });

  describe('nixos-rebuild switch', () => {
    let guest: DemoGuest;

    beforeAll(async () => {
      guest = await makeTestGuest();
      const flake = join(guest.rootDir, 'etc/nixos');
      await mkdir(join(flake, 'hosts'), { recursive: true });
      await mkdir(join(flake, 'modules/apps'), { recursive: true });
      await writeFile(join(flake, 'flake.nix'), '{ outputs = { ... }: { }; }\n');
      await writeFile(join(flake, 'hosts/social.json'), JSON.stringify({ hostname: 'social', app: 'mastodon' }));
      await writeFile(join(flake, 'modules/apps/mastodon.nix'), await appModule('mastodon'));
    });
    afterAll(async () => {
      await rm(dirname(guest.dir), { recursive: true, force: true });
    });

    it('creates them with sample demo data on the first start, and leaves them alone afterwards', async () => {
      const rebuild = ['nixos-rebuild', 'switch', '--flake', '/etc/nixos#social'];
      const first = await runDemoCommand(demoNixosRebuildCommand(), guest, rebuild);
      expect(first.exitCode).toBe(0);
      expect(first.stderr).toMatch(/created the app's state directories with sample demo data: \/var\/lib\/mastodon /);
      const sample = join(guest.rootDir, 'var/lib/mastodon/demo-data.txt');
      expect(await readFile(sample, 'utf8')).toMatch(/^Demo data: written by the Fediversity demo host when mastodon first started on social/);
      expect(existsSync(join(guest.rootDir, 'var/lib/mastodon/public-system/demo-data.txt'))).toBe(true);
      expect((await stat(join(guest.rootDir, 'var/lib/mastodon/secrets'))).mode & 0o777).toBe(0o700);
      expect(existsSync(join(guest.rootDir, 'var/lib/mastodon/secrets/demo-data.txt'))).toBe(false);

      await writeFile(sample, 'changed by the app');
      const second = await runDemoCommand(demoNixosRebuildCommand(), guest, rebuild);
      expect(second.stderr).not.toMatch(/created the app's state directories/);
      expect(await readFile(sample, 'utf8')).toBe('changed by the app');
    });
  });
});
