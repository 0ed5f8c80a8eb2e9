/**
 * The host description: the only thing the portal renders for a NixOS guest.
 *
 * The portal writes it as `hosts/<hostname>.json`; the flake under `nix/` reads it with
 * `builtins.fromJSON` and turns it into a NixOS configuration (`nix/lib/hostSettings.nix`).
 * Every field is either allow-listed by a regular expression, an enum, a bounded number, or a
 * free-text string that the Nix side only ever treats as data. Field names here are the JSON keys
 * the Nix side reads: keep both in step.
 */
import { z } from 'zod';

/** The app modules of `nix/modules/apps`, one per app definition of the catalog. */
export const HOST_APP_NAMES = [
  'mastodon',
  'pixelfed',
  'peertube',
  'synapse',
  'gotosocial',
  'nextcloud',
  'cryptpad',
  'forgejo',
  'hedgedoc',
  'roundcube',
  'vikunja',
  'bind9',
  'maddy',
  'lldap',
  'authelia',
  'openbao',
] as const;

export type HostAppName = (typeof HOST_APP_NAMES)[number];

/** The Prometheus exporters `nix/modules/common.nix` knows how to turn on. */
export const HOST_EXPORTERS = ['node', 'postgres', 'nginx', 'redis'] as const;

/** PostgreSQL majors the flake may pin; both ends of a streaming replica must share one. */
export const HOST_POSTGRESQL_MAJORS = [15, 16, 17] as const;

export const HOST_DESCRIPTION_SCHEMA_VERSION = 1;

/** RFC 1123 host label, lower case: the guest's hostname and the flake attribute. */
export const HOSTNAME_PATTERN = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A lower-case DNS name of at least two labels; IDNs must be given in punycode. */
export const DOMAIN_PATTERN =
  /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Names used as Nix attribute names and in file names (backup targets). */
export const IDENTIFIER_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
/** One OpenSSH public key line: no options prefix, no line break, a free comment. */
export const SSH_PUBLIC_KEY_PATTERN =
  // eslint-disable-next-line no-control-regex -- the comment is user input that ends up in authorized_keys: control characters must be refused
  /^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]{16,16384}={0,3}(?: [^\u0000-\u001f\u007f]{1,256})?$/;
/** A restic repository; credentials belong in the target's environment file, not here. */
export const RESTIC_REPOSITORY_PATTERN =
  /^(?:(?:s3|sftp|rest|b2|azure|gs|swift|rclone):)?[A-Za-z0-9._~:/@%+=,-]{1,512}$/;
/** An absolute path on the guest (secrets the portal uploads; never a store path). */
export const GUEST_PATH_PATTERN = /^\/(?!nix\/)(?:(?!\.\.?\/)[A-Za-z0-9._-]+\/)*(?!\.\.?$)[A-Za-z0-9._-]+$/;
/** An e-mail address for ACME registration. Deliberately narrower than RFC 5322: it ends up in
 * nixpkgs-generated command lines and config files we do not control the quoting of. */
export const EMAIL_PATTERN =
  /^[A-Za-z0-9._%+-]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** A NixOS release, e.g. "25.05". */
export const STATE_VERSION_PATTERN = /^\d{2}\.(?:05|11)$/;
/** A short display title: letters, digits and plain punctuation only, because apps write it into
 * .env and .ini files whose own quoting rules we do not want to depend on. */
export const TITLE_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} .,!?&()_+-]{0,79}$/u;

/** An LDAP base DN made of domain components, as LLDAP derives it from its domain. */
export const LDAP_BASE_DN_PATTERN = /^dc=[a-z0-9-]{1,63}(?:,dc=[a-z0-9-]{1,63})*$/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Free text that Nix can hold: Nix strings are C strings, so a NUL would silently cut the value
 * (`builtins.fromJSON` stops there), and a lone surrogate has no UTF-8 encoding.
 */
export const nixSafeText = (max: number) =>
  z
    .string()
    .max(max)
    .refine(s => !s.includes('\u0000'), 'must not contain NUL characters')
    .refine(s => !LONE_SURROGATE.test(s), 'must be well-formed Unicode');

const hostname = z.string().regex(HOSTNAME_PATTERN, 'must be a lower-case host label');
const domain = z.string().regex(DOMAIN_PATTERN, 'must be a lower-case DNS name (punycode)');
const identifier = z.string().regex(IDENTIFIER_PATTERN, 'must match [a-z][a-z0-9-]{0,31}');
const guestPath = z.string().max(512).regex(GUEST_PATH_PATTERN, 'must be an absolute path outside /nix');
const email = z.string().max(254).regex(EMAIL_PATTERN, 'must be an e-mail address');
const title = z.string().regex(TITLE_PATTERN, 'must be letters, digits and plain punctuation');

/** Options each app module accepts from the portal; anything else is refused (`strict`). */
export const hostAppOptionsSchemas = {
  mastodon: z
    .object({
      streamingProcesses: z.number().int().min(1).max(16).default(1),
      singleUserMode: z.boolean().default(false),
    })
    .strict(),
  pixelfed: z
    .object({
      openRegistration: z.boolean().default(false),
      maxUploadSizeMb: z.number().int().min(1).max(4096).default(16),
    })
    .strict(),
  peertube: z
    .object({
      title: title.optional(),
      transcoding: z.boolean().default(true),
    })
    .strict(),
  synapse: z
    .object({
      /** The Matrix server name (user IDs end in it); defaults to `domain`. Never changes. */
      serverName: domain.optional(),
      enableRegistration: z.boolean().default(false),
    })
    .strict(),
  gotosocial: z
    .object({
      /** Optional account domain (handles @user@accountDomain while served on `domain`). */
      accountDomain: domain.optional(),
      openRegistration: z.boolean().default(false),
    })
    .strict(),
  nextcloud: z
    .object({
      maxUploadSize: z.string().regex(/^[1-9][0-9]{0,4}[MG]$/).default('512M'),
      defaultPhoneRegion: z.string().regex(/^[A-Z]{2}$/).optional(),
    })
    .strict(),
  cryptpad: z
    .object({
      /** CryptPad's sandbox origin must be a second domain; defaults to `sandbox.<domain>`. */
      sandboxDomain: domain.optional(),
    })
    .strict(),
  forgejo: z
    .object({
      title: title.optional(),
      disableRegistration: z.boolean().default(true),
      lfs: z.boolean().default(true),
    })
    .strict(),
  hedgedoc: z
    .object({
      allowAnonymous: z.boolean().default(false),
      allowEmailRegister: z.boolean().default(false),
    })
    .strict(),
  roundcube: z
    .object({
      imapHost: domain,
      smtpHost: domain.optional(),
      maxAttachmentSizeMb: z.number().int().min(1).max(100).default(18),
    })
    .strict(),
  vikunja: z
    .object({
      enableRegistration: z.boolean().default(false),
    })
    .strict(),
  bind9: z
    .object({
      /** Zones this server is primary for; updated by the portal over RFC 2136 with a TSIG key. */
      zones: z.array(domain).min(1).max(64),
    })
    .strict(),
  maddy: z
    .object({
      /** Mail domains accepted locally; defaults to `[domain]`. */
      mailDomains: z.array(domain).min(1).max(64).optional(),
    })
    .strict(),
  lldap: z.object({}).strict(),
  authelia: z
    .object({
      /** The LLDAP host, reached over LDAPS (port 6360). */
      ldapHost: domain,
      ldapBaseDn: z.string().max(253).regex(LDAP_BASE_DN_PATTERN, 'must be dc=…,dc=… components'),
      /** Parent domain whose subdomains share the sign-in; defaults to `domain`. */
      cookieDomain: domain.optional(),
    })
    .strict(),
  openbao: z.object({}).strict(),
} satisfies Record<HostAppName, z.ZodTypeAny>;

export const hostBackupTargetSchema = z
  .object({
    name: identifier,
    repository: z.string().regex(RESTIC_REPOSITORY_PATTERN, 'must be a restic repository without spaces'),
    /** Env file with the repository credentials (e.g. AWS_ACCESS_KEY_ID), uploaded by the portal. */
    environmentFile: guestPath.optional(),
    /** `OnCalendar` of the backup timer. */
    schedule: z.enum(['hourly', 'daily', 'weekly']).default('daily'),
  })
  .strict();

const hostBaseShape = {
  schemaVersion: z.literal(HOST_DESCRIPTION_SCHEMA_VERSION),
  hostname,
  /** The public domain the app is served on. */
  domain,
  stateVersion: z.string().regex(STATE_VERSION_PATTERN, 'must be a NixOS release like 25.05').default('25.05'),
  sshAuthorizedKeys: z
    .array(nixSafeText(17000).pipe(z.string().regex(SSH_PUBLIC_KEY_PATTERN, 'must be one OpenSSH public key line')))
    .min(1)
    .max(32),
  acmeEmail: email,
  /** Use Let's Encrypt's staging CA (tests, demo hosts). */
  acmeStaging: z.boolean().default(false),
  postgresqlMajor: z
    .union([z.literal(15), z.literal(16), z.literal(17)])
    .default(16),
  backupTargets: z.array(hostBackupTargetSchema).max(8).default([]),
  exporters: z
    .object({
      enabled: z.array(z.enum(HOST_EXPORTERS)).max(HOST_EXPORTERS.length).default(['node']),
      openFirewall: z.boolean().default(false),
    })
    .strict()
    .default({}),
  /** Shown at SSH login (`/etc/motd`). Free text: it is data everywhere, never code. */
  motd: nixSafeText(2000).optional(),
};

function appVariant<A extends HostAppName, S extends z.ZodTypeAny>(app: A, options: S) {
  return z
    .object({
      ...hostBaseShape,
      app: z.literal(app),
      // Apps whose options all have defaults may leave `appOptions` out; for the others the
      // empty object fails with the names of the missing fields.
      appOptions: options.default({} as never),
    })
    .strict();
}

export const hostDescriptionSchema = z.discriminatedUnion('app', [
  appVariant('mastodon', hostAppOptionsSchemas.mastodon),
  appVariant('pixelfed', hostAppOptionsSchemas.pixelfed),
  appVariant('peertube', hostAppOptionsSchemas.peertube),
  appVariant('synapse', hostAppOptionsSchemas.synapse),
  appVariant('gotosocial', hostAppOptionsSchemas.gotosocial),
  appVariant('nextcloud', hostAppOptionsSchemas.nextcloud),
  appVariant('cryptpad', hostAppOptionsSchemas.cryptpad),
  appVariant('forgejo', hostAppOptionsSchemas.forgejo),
  appVariant('hedgedoc', hostAppOptionsSchemas.hedgedoc),
  appVariant('roundcube', hostAppOptionsSchemas.roundcube),
  appVariant('vikunja', hostAppOptionsSchemas.vikunja),
  appVariant('bind9', hostAppOptionsSchemas.bind9),
  appVariant('maddy', hostAppOptionsSchemas.maddy),
  appVariant('lldap', hostAppOptionsSchemas.lldap),
  appVariant('authelia', hostAppOptionsSchemas.authelia),
  appVariant('openbao', hostAppOptionsSchemas.openbao),
]);

/** A validated host description, defaults applied (what gets rendered). */
export type HostDescription = z.output<typeof hostDescriptionSchema>;
/** What callers may pass: defaults may be left out. */
export type HostDescriptionInput = z.input<typeof hostDescriptionSchema>;

export type HostAppOptions<A extends HostAppName> = z.output<(typeof hostAppOptionsSchemas)[A]>;

/** Validates and applies defaults; throws a ZodError naming each offending field. */
export function parseHostDescription(input: unknown): HostDescription {
  return hostDescriptionSchema.parse(input);
}
