import { parseEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { HOSTNAME_PATTERN, HostAppName } from '@fediversity/plugin-fediversity-common';

/** The guest's host name: the first label of its domain (`social.example.org` → `social`). */
export function hostnameOf(domain: string): string {
  const label = domain.split('.')[0];
  if (!HOSTNAME_PATTERN.test(label)) {
    throw new InputError(`domain: the first label of ${domain} is not a valid host name`);
  }
  return label;
}

/** `social.example.org` → `example.org`; a two-label domain is its own parent. */
function parentDomain(domain: string): string {
  const labels = domain.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : domain;
}

/**
 * Options an app needs that the portal can derive from the instance's domain, so a template runs with only owner
 * and domain. Explicit options win over these.
 */
export function derivedAppOptions(app: HostAppName, domain: string): Record<string, unknown> {
  const parent = parentDomain(domain);
  switch (app) {
    case 'roundcube':
      return { imapHost: `mail.${parent}` };
    case 'bind9':
      return { zones: [parent] };
    case 'authelia':
      return { ldapHost: `ldap.${parent}`, ldapBaseDn: parent.split('.').map(label => `dc=${label}`).join(',') };
    default:
      return {};
  }
}

/** Tags the Proxmox entity provider reads: `owner-<group>` sets the guest's owner, `app-<app>` says what runs. */
export function guestTags(owner: string | undefined, app: string | undefined): string[] {
  const tags: string[] = [];
  if (owner) tags.push(`owner-${parseEntityRef(owner, { defaultKind: 'group', defaultNamespace: 'default' }).name.toLowerCase()}`);
  if (app) tags.push(`app-${app}`);
  return tags;
}
