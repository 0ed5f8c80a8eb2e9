/**
 * Evaluates every module of nix/modules with nix-instantiate against the stand-in `lib` of
 * testdata/evalModule.nix: the modules' own options must accept what the zod schema produces, and
 * the pitfalls of reference/nixos.md must be handled in what they set. The generated secrets script
 * is run with real bash to prove its quoting.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  HOST_APP_NAMES,
  HostAppName,
  hostAppOptionsSchemas,
} from '@fediversity/plugin-fediversity-common';
import { validateHostDescription } from './hostFiles';
import { describeWithNix, startNixForTests } from './__testUtils__/nixForTests';
import { NixInstantiate } from './nixInstantiate';
import { NixValue, renderNixValue, toNixString } from './nixValue';

const NIX_DIR = resolve(__dirname, '../../../../nix');
const HARNESS = resolve(__dirname, 'testdata/evalModule.nix');
const DOMAIN = 'app.example.org';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Ttk0m8bmW9k3m1uJ4pQeTzX0f1K9U5hVf6yQ8rN1w';

/** Options an app cannot do without (the rest have defaults). */
const REQUIRED_OPTIONS: Partial<Record<HostAppName, object>> = {
  roundcube: { imapHost: 'mail.example.org' },
  bind9: { zones: ['example.org', 'example.net'] },
  authelia: { ldapHost: 'id.example.org', ldapBaseDn: 'dc=id,dc=example,dc=org' },
};

/** How each app gets HTTPS: its own vhost with ACME, or the nixpkgs module's nginx switch. */
const TLS_BY_MODULE_SWITCH: Partial<Record<HostAppName, (services: any) => boolean>> = {
  mastodon: s => s.mastodon.configureNginx === true,
  pixelfed: s => s.pixelfed.nginx.enableACME === true && s.pixelfed.nginx.forceSSL === true,
  cryptpad: s => s.cryptpad.configureNginx === true,
};
const WITHOUT_WEB: HostAppName[] = ['bind9'];

/** Values nixpkgs' modules would provide that ours read (users, state dirs, cert directories). */
const NIXPKGS_DEFAULTS = {
  services: {
    pixelfed: { user: 'pixelfed', group: 'pixelfed' },
    peertube: { user: 'peertube', group: 'peertube' },
    forgejo: { stateDir: '/var/lib/forgejo' },
    mysqlBackup: { location: '/var/backup/mysql' },
    nginx: { group: 'nginx' },
  },
  security: { acme: { certs: { [DOMAIN]: { directory: `/var/lib/acme/${DOMAIN}` } } } },
};

type Evaluated = { config: any; appOptions: Record<string, unknown>; imports: string[] };

describeWithNix()('nix/modules evaluated against a stand-in lib', () => {
  jest.setTimeout(120_000);
  let nix: NixInstantiate;
  let dir: string;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nix, dir, close } = await startNixForTests('fediversity-nix-modules-'));
  });

  afterAll(() => close?.());

  async function evaluateModule(
    name: string,
    module: string,
    args: { app?: string; appOptions?: NixValue; config: NixValue },
  ): Promise<Evaluated> {
    const file = join(dir, `${name}.nix`);
    await writeFile(
      file,
      `import ${toNixString(HARNESS)} ({ module = ${toNixString(module)}; } // ${renderNixValue(args as NixValue)})\n`,
    );
    return (await nix.evalFileToJson(file)) as Evaluated;
  }

  const appOptionsFromSchema = (app: HostAppName) =>
    validateHostDescription({
      schemaVersion: 1,
      hostname: 'app-1',
      domain: DOMAIN,
      app,
      appOptions: REQUIRED_OPTIONS[app] ?? {},
      sshAuthorizedKeys: [KEY],
      acmeEmail: 'ops@example.org',
    }).appOptions as Record<string, NixValue>;

  it.each(HOST_APP_NAMES.map(app => [app]))(
    '%s: accepts the schema defaults, declares the schema options, handles the pitfalls',
    async app => {
      const module = join(NIX_DIR, 'modules/apps', `${app}.nix`);
      const result = await evaluateModule(app, module, {
        app,
        appOptions: { ...appOptionsFromSchema(app), enable: true },
        config: {
          ...NIXPKGS_DEFAULTS,
          fediversity: { domain: DOMAIN, backup: { targets: {} } },
          networking: { hostName: 'app-1' },
          system: { stateVersion: '25.05' },
        },
      });

      // The Nix options are exactly the schema's, plus `enable`.
      expect(Object.keys(result.appOptions).sort()).toEqual(
        ['enable', ...Object.keys(hostAppOptionsSchemas[app].shape)].sort(),
      );
      expect(result.imports).toEqual([join(NIX_DIR, 'modules/options.nix')]);

      const { services = {}, fediversity = {} } = result.config;
      expect(fediversity.backup.paths.length).toBeGreaterThan(0);
      for (const secret of Object.values<any>(fediversity.secrets ?? {})) {
        expect(secret.path).toMatch(/^\/var\/lib\/[a-z0-9._-]+\/secrets\/[A-Za-z0-9._-]+$/);
        expect(secret.requiredBy.length).toBeGreaterThan(0);
      }

      const vhost = services.nginx?.virtualHosts?.[DOMAIN];
      const byModule = TLS_BY_MODULE_SWITCH[app]?.(services) ?? false;
      const servesHttps = byModule || (vhost?.enableACME === true && vhost?.forceSSL === true);
      expect(servesHttps || WITHOUT_WEB.includes(app)).toBe(true);
    },
  );

  it.each(HOST_APP_NAMES.map(app => [app]))(
    '%s: every value hostSettings.nix derives from a description is a declared, well-typed option',
    async app => {
      const description = validateHostDescription({
        schemaVersion: 1,
        hostname: 'app-1',
        domain: DOMAIN,
        app,
        appOptions: REQUIRED_OPTIONS[app] ?? {},
        sshAuthorizedKeys: [`${KEY} "quoted" \${x}`],
        acmeEmail: 'ops@example.org',
        postgresqlMajor: 17,
        backupTargets: [{ name: 'offsite', repository: 'sftp:backup@example.net:/srv/restic', schedule: 'weekly' }],
        exporters: { enabled: ['node', 'nginx'], openFirewall: true },
        motd: 'line\n"two" ${three}',
      });
      const file = join(dir, `settings-${app}.nix`);
      await writeFile(
        file,
        `import ${toNixString(resolve(__dirname, 'testdata/checkHostSettings.nix'))} {
          nixDir = ${toNixString(NIX_DIR)};
          description = ${renderNixValue(description as unknown as NixValue)};
        }\n`,
      );
      const checked = (await nix.evalFileToJson(file)) as { fediversity: any; app: any };
      expect(checked.fediversity).toEqual(
        expect.objectContaining({
          domain: DOMAIN,
          sshAuthorizedKeys: description.sshAuthorizedKeys,
          motd: description.motd,
          postgresql: { major: 17 },
          exporters: { enabled: ['node', 'nginx'], openFirewall: true },
        }),
      );
      expect(checked.app).toEqual(expect.objectContaining({ enable: true, ...description.appOptions }));
    },
  );

  it('refuses a description value the options do not accept', async () => {
    const description = {
      ...validateHostDescription({
        schemaVersion: 1,
        hostname: 'app-1',
        domain: DOMAIN,
        app: 'mastodon',
        sshAuthorizedKeys: [KEY],
        acmeEmail: 'ops@example.org',
      }),
      postgresqlMajor: 14,
    };
    const file = join(dir, 'settings-bad.nix');
    await writeFile(
      file,
      `import ${toNixString(resolve(__dirname, 'testdata/checkHostSettings.nix'))} {
        nixDir = ${toNixString(NIX_DIR)};
        description = ${renderNixValue(description as unknown as NixValue)};
      }\n`,
    );
    await expect(nix.evalFileToJson(file)).rejects.toThrow(/option major: 14 is not a one of \[15,16,17\]/);
  });

  it('creates the Synapse database with C collation from template0', async () => {
    const result = await evaluateModule('synapse-db', join(NIX_DIR, 'modules/apps/synapse.nix'), {
      app: 'synapse',
      appOptions: { enable: true, serverName: 'example.org' },
      config: { fediversity: { domain: 'matrix.example.org' } },
    });
    const { postgresql, 'matrix-synapse': synapse } = result.config.services;
    expect(postgresql.initialScript.text).toMatch(
      /CREATE DATABASE "matrix-synapse" WITH OWNER "matrix-synapse"\s+TEMPLATE template0 LC_COLLATE = 'C' LC_CTYPE = 'C'/,
    );
    expect(synapse.settings.server_name).toBe('example.org');
    expect(synapse.extraConfigFiles.every((f: string) => f.startsWith('/var/lib/matrix-synapse/secrets/'))).toBe(true);
  });

  it('creates the HedgeDoc database and user, and keeps its session secret in a host file', async () => {
    const result = await evaluateModule('hedgedoc-db', join(NIX_DIR, 'modules/apps/hedgedoc.nix'), {
      app: 'hedgedoc',
      appOptions: { enable: true },
      config: { fediversity: { domain: DOMAIN } },
    });
    const { postgresql, hedgedoc } = result.config.services;
    expect(postgresql.ensureDatabases).toEqual(['hedgedoc']);
    expect(postgresql.ensureUsers).toEqual([{ name: 'hedgedoc', ensureDBOwnership: true }]);
    expect(hedgedoc.environmentFile).toBe('/var/lib/hedgedoc/secrets/session.env');
    expect(hedgedoc.settings.sessionSecret).toBe('$CMD_SESSION_SECRET');
  });

  it('refuses app options of the wrong type, as the module system would', async () => {
    const attempt = (appOptions: NixValue) =>
      evaluateModule('mastodon-bad', join(NIX_DIR, 'modules/apps/mastodon.nix'), {
        app: 'mastodon',
        appOptions: { enable: true, ...(appOptions as object) },
        config: { fediversity: { domain: DOMAIN } },
      });
    await expect(attempt({ streamingProcesses: 0 })).rejects.toThrow(/streamingProcesses: 0 is not a integer between 1 and 16/);
    await expect(attempt({ bogus: true })).rejects.toThrow(/\["bogus"\] do not exist/);
  });

  it('common: LXC base, flakes, pinned PostgreSQL, restic with dumps first and quoted commands', async () => {
    const result = await evaluateModule('common', join(NIX_DIR, 'modules/common.nix'), {
      config: {
        fediversity: {
          domain: DOMAIN,
          sshAuthorizedKeys: [KEY],
          acme: { email: 'ops@example.org', staging: true },
          postgresql: { major: 15 },
          backup: {
            targets: { offsite: { repository: 's3:https://s3.example.net/b', environmentFile: null, schedule: 'hourly' } },
            paths: ['/var/lib/app'],
            prepareUnits: ['postgresqlBackup.service'],
            prepareCommands: [['/nix/store/x-bind/bin/rndc', 'freeze', "it's"]],
            cleanupCommands: [],
            quiesceUnits: ['app.service'],
          },
          exporters: { enabled: ['node', 'postgres', 'nginx'], openFirewall: false },
          motd: 'hello',
        },
        services: {
          postgresql: { enable: true },
          nginx: { enable: true },
          redis: { servers: {} },
          postgresqlBackup: { location: '/var/backup/postgresql' },
        },
      },
    });
    const { config, imports } = result;
    expect(imports).toEqual(['/modules/virtualisation/proxmox-lxc.nix', join(NIX_DIR, 'modules/options.nix')]);
    expect(config.nix.settings['experimental-features']).toEqual(['nix-command', 'flakes']);
    expect(config.services.openssh.settings.PasswordAuthentication).toBe(false);
    expect(config.users.users.root.openssh.authorizedKeys.keys).toEqual([KEY]);
    expect(config.services.postgresql.package).toBe('/nix/store/postgresql-15');
    expect(config.services.postgresql.initdbArgs).toEqual(['--data-checksums', '--wal-segsize=1']);
    expect(config.security.acme.defaults.server).toContain('acme-staging');
    expect(config.fediversity.secrets['restic-offsite'].path).toBe('/var/lib/fediversity/secrets/restic-offsite');
    expect(config.services.restic.backups.offsite).toEqual(
      expect.objectContaining({
        repository: 's3:https://s3.example.net/b',
        passwordFile: '/var/lib/fediversity/secrets/restic-offsite',
        paths: ['/var/lib/app', '/var/backup/postgresql'],
        backupPrepareCommand:
          "'systemctl' 'start' 'postgresqlBackup.service'\n'/nix/store/x-bind/bin/rndc' 'freeze' 'it'\\''s'\n'systemctl' 'stop' 'app.service'\n",
        backupCleanupCommand: "'systemctl' 'start' 'app.service'\n",
      }),
    );
    expect(config.services.restic.backups.offsite.timerConfig.OnCalendar).toBe('hourly');
    expect(Object.keys(config.services.prometheus.exporters).sort()).toEqual(['nginx', 'node', 'postgres']);
  });

  it('secrets: the generated script writes exactly prefix + value + suffix, run by real bash', async () => {
    const prefix = `A='$(touch pwned)' "\${HOME}" \`id\` \\ \n`;
    const suffix = "'\"; rm -rf / #";
    const result = await evaluateModule('secrets', join(NIX_DIR, 'modules/secrets.nix'), {
      config: {
        fediversity: {
          secrets: {
            hostile: {
              path: '/var/lib/app/secrets/env',
              owner: 'app',
              group: 'app',
              mode: '0400',
              encoding: 'hex',
              bytes: 32,
              prefix,
              suffix,
              requiredBy: ['app.service'],
            },
          },
        },
      },
    });
    const unit = result.config.systemd.services['fediversity-secrets'];
    expect(unit.requiredBy).toEqual(['app.service']);
    expect(unit.before).toEqual(['app.service']);
    expect(unit.serviceConfig).toEqual({ Type: 'oneshot', RemainAfterExit: true, UMask: '0077' });

    // Commands that touch the system are shell functions recording their argv; paths under
    // /var/lib are redirected into the test directory.
    const work = join(dir, 'secrets-run');
    const script = `
      root=${JSON.stringify(work)}
      mkdir -p "$root"
      log() { printf '%s\\n' "$*" >> "$root/log"; }
      install() { log install "$@"; }
      chown() { log chown "$@"; }
      chmod() { log chmod "$@"; }
      mktemp() { log mktemp "$@"; echo "$root/tmp"; }
      mv() { log mv "$@"; command mv "$1" "$root/final"; }
      openssl() { log openssl "$@"; echo 0123abcd; }
      cd "$root"
      ${unit.script}
    `;
    await promisify(execFile)('bash', ['-c', script], { cwd: tmpdir() });
    expect(await readFile(join(work, 'final'), 'utf8')).toBe(`${prefix}0123abcd${suffix}\n`);
    const log = await readFile(join(work, 'log'), 'utf8');
    expect(log).toContain('chown app:app');
    expect(log).toContain('chmod 0400');
    expect(log).toContain(`mv ${work}/tmp /var/lib/app/secrets/env`);
    await expect(readFile(join(work, 'pwned'))).rejects.toThrow();
  });
});
