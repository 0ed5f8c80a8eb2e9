# The app modules this flake provides, one per app definition of the portal's catalog.
# Keep in step with HOST_APP_NAMES in plugins/fediversity-common/src/hostDescription.ts (a test checks).
[
  "mastodon"
  "pixelfed"
  "peertube"
  "synapse"
  "gotosocial"
  "nextcloud"
  "cryptpad"
  "forgejo"
  "hedgedoc"
  "roundcube"
  "vikunja"
  "bind9"
  "maddy"
  "lldap"
  "authelia"
  "openbao"
]
