import { HOST_APP_NAMES, hostDescriptionSchema, parseHostDescription } from './hostDescription';

const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Ttk0m8bmW9k3m1uJ4pQeTzX0f1K9U5hVf6yQ8rN1w admin@example';

const minimal = {
  schemaVersion: 1,
  hostname: 'social-1',
  domain: 'social.example.org',
  app: 'mastodon',
  sshAuthorizedKeys: [key],
  acmeEmail: 'ops@example.org',
};

describe('hostDescriptionSchema', () => {
  it('applies defaults to a minimal description', () => {
    expect(parseHostDescription(minimal)).toEqual({
      ...minimal,
      stateVersion: '25.05',
      acmeStaging: false,
      postgresqlMajor: 16,
      backupTargets: [],
      exporters: { enabled: ['node'], openFirewall: false },
      appOptions: { streamingProcesses: 1, singleUserMode: false },
    });
  });

  it('has a variant for every app, each accepting its own options', () => {
    const required: Record<string, object> = {
      roundcube: { imapHost: 'mail.example.org' },
      bind9: { zones: ['example.org'] },
      authelia: { ldapHost: 'id.example.org', ldapBaseDn: 'dc=id,dc=example,dc=org' },
    };
    for (const app of HOST_APP_NAMES) {
      const parsed = parseHostDescription({ ...minimal, app, appOptions: required[app] ?? {} });
      expect(parsed.app).toBe(app);
    }
  });

  it('refuses options another app or nobody declared', () => {
    expect(() => parseHostDescription({ ...minimal, appOptions: { lfs: true } })).toThrow(/Unrecognized key/);
    expect(() => parseHostDescription({ ...minimal, extra: 1 })).toThrow(/Unrecognized key/);
    expect(() => parseHostDescription({ ...minimal, app: 'gitlab' })).toThrow(/discriminator/);
  });

  it('says which required app options are missing', () => {
    const result = hostDescriptionSchema.safeParse({ ...minimal, app: 'roundcube' });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map(i => i.path.join('.'))).toEqual(['appOptions.imapHost']);
  });

  it.each([
    ['hostname', 'Social'],
    ['hostname', 'a"b'],
    ['hostname', 'x${y}'],
    ['hostname', 'host\n'],
    ['hostname', '-lead'],
    ['domain', 'exa mple.org'],
    ['domain', 'bücher.example'],
    ['domain', 'localhost'],
    ['domain', 'example.org.'],
    ['acmeEmail', 'a@b'],
    ['acmeEmail', 'a"@example.org\nx'],
    ['acmeEmail', "o'brien@example.org"],
    ['acmeEmail', 'a$(id)@example.org'],
    ['stateVersion', '25.05"; }'],
  ])('refuses %s %j', (field, value) => {
    expect(hostDescriptionSchema.safeParse({ ...minimal, [field]: value }).success).toBe(false);
  });

  it.each([
    'ssh-ed25519 AAAA\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ',
    'command="rm -rf /" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2Ttk0m8bmW9k3m1uJ4pQe',
    'ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq',
    `${key}\r`,
    `${key} lone \ud83d surrogate`,
  ])('refuses the ssh key %j', sshKey => {
    expect(hostDescriptionSchema.safeParse({ ...minimal, sshAuthorizedKeys: [sshKey] }).success).toBe(false);
  });

  it('keeps free text in key comments and the motd, but not NUL or lone surrogates', () => {
    const comment = `"quoted" \${x} \\ é 😀`;
    const motd = `line 1\nline "2" \${pwn} \\ ''\r\n\t😀`;
    const parsed = parseHostDescription({ ...minimal, sshAuthorizedKeys: [`${key} ${comment}`], motd });
    expect(parsed.motd).toBe(motd);
    expect(parsed.sshAuthorizedKeys[0].endsWith(comment)).toBe(true);
    expect(hostDescriptionSchema.safeParse({ ...minimal, motd: 'a\u0000b' }).success).toBe(false);
    expect(hostDescriptionSchema.safeParse({ ...minimal, motd: 'a\ud800b' }).success).toBe(false);
  });

  it('checks backup targets', () => {
    const target = { name: 'offsite', repository: 's3:https://s3.example.org/bucket/host' };
    expect(parseHostDescription({ ...minimal, backupTargets: [target] }).backupTargets).toEqual([
      { ...target, schedule: 'daily' },
    ]);
    for (const bad of [
      { ...target, repository: 's3:x y' },
      { ...target, name: 'Off"site' },
      { ...target, environmentFile: '/nix/store/abc-env' },
      { ...target, environmentFile: 'relative/env' },
      { ...target, environmentFile: '/var/lib/../etc/shadow' },
    ]) {
      expect(hostDescriptionSchema.safeParse({ ...minimal, backupTargets: [bad] }).success).toBe(false);
    }
  });
});
