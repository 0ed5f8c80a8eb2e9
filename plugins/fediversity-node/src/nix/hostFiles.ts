/**
 * What the portal writes to a NixOS guest: the host description, nothing else built from input.
 *
 * The guest holds a copy of the repository's `nix/` flake in `flakeDir` (default /etc/nixos);
 * the description goes to `<flakeDir>/hosts/<hostname>.json`, where `nix/flake.nix` finds it and
 * builds `nixosConfigurations.<hostname>` from it with `builtins.fromJSON`.
 */
import { InputError } from '@backstage/errors';
import {
  HostDescription,
  HOSTNAME_PATTERN,
  hostDescriptionSchema,
} from '@fediversity/plugin-fediversity-common';
import { NixValue, renderNixValue } from './nixValue';

export const DEFAULT_FLAKE_DIR = '/etc/nixos';

/** Validates (zod) and applies defaults, throwing an InputError that lists every bad field. */
export function validateHostDescription(input: unknown): HostDescription {
  const result = hostDescriptionSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map(issue => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new InputError(`Invalid host description: ${problems.join('; ')}`);
  }
  return result.data;
}

/**
 * The host description as JSON text for `hosts/<hostname>.json`. JSON is safe to hand to Nix:
 * `builtins.fromJSON` reads it as data, so no escaping beyond JSON's own is needed.
 */
export function renderHostDescription(input: unknown): string {
  return `${JSON.stringify(validateHostDescription(input), null, 2)}\n`;
}

/**
 * The same description as a Nix expression for `hosts/<hostname>.nix`, for operators who keep
 * hosts as Nix files. Every string is escaped by renderNixValue.
 */
export function renderHostDescriptionNix(input: unknown): string {
  const description = validateHostDescription(input);
  return `# Host description written by the Fediversity portal; edits are overwritten on deploy.\n${renderNixValue(
    description as unknown as NixValue,
  )}\n`;
}

export interface RenderedFile {
  /** Path relative to the flake directory on the guest. */
  path: string;
  content: string;
  /** File mode to create it with. */
  mode: number;
}

/** The files to upload into the guest's flake directory for one host. */
export function renderHostFiles(input: unknown): RenderedFile[] {
  const description = validateHostDescription(input);
  return [
    {
      path: `hosts/${description.hostname}.json`,
      content: renderHostDescription(description),
      mode: 0o644,
    },
  ];
}

/**
 * The argv (no shell) that applies a host's configuration on the guest. `NIX_CONFIG` enables
 * flakes for the first switch, since the stock Proxmox LXC image has them off; the common module
 * turns them on for later runs.
 */
export function nixosRebuildCommand(
  hostname: string,
  flakeDir: string = DEFAULT_FLAKE_DIR,
): { argv: string[]; env: Record<string, string> } {
  if (!HOSTNAME_PATTERN.test(hostname)) {
    throw new InputError(`Invalid hostname ${JSON.stringify(hostname)}`);
  }
  if (!/^\/[A-Za-z0-9._/-]*$/.test(flakeDir) || flakeDir.split('/').includes('..')) {
    throw new InputError(`Invalid flake directory ${JSON.stringify(flakeDir)}`);
  }
  return {
    argv: ['nixos-rebuild', 'switch', '--flake', `${flakeDir}#${hostname}`],
    env: { NIX_CONFIG: 'experimental-features = nix-command flakes' },
  };
}
