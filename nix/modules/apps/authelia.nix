# Authelia (core service: authentication, single sign-on with second factors) on
# services.authelia.instances.main, reading users from LLDAP over LDAPS. Its own secrets are
# generated on the host; the LDAP bind password belongs to the directory and is uploaded by the
# portal to /var/lib/authelia-main/secrets/ldap-password.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.authelia;
  domain = config.fediversity.domain;
  instance = "main";
  user = "authelia-${instance}";
  stateDir = "/var/lib/${user}";
  secretsDir = "${stateDir}/secrets";
  port = 9091;
  proxyVhost = import ../../lib/proxyVhost.nix;
  dnsName = types.strMatching "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
  secret = name: {
    path = "${secretsDir}/${name}";
    owner = user;
    group = user;
    encoding = "hex";
    bytes = 64;
    requiredBy = [ "${user}.service" ];
  };
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.authelia = {
    enable = mkEnableOption "Authelia on fediversity.domain";
    ldapHost = mkOption {
      type = dnsName;
      description = "The LLDAP host (LDAPS on port 6360).";
    };
    cookieDomain = mkOption {
      type = types.nullOr dnsName;
      default = null;
      description = "Domain whose subdomains share the sign-in (e.g. example.org); the host's domain by default.";
    };
    ldapBaseDn = mkOption {
      type = types.strMatching "dc=[a-z0-9-]+(,dc=[a-z0-9-]+)*";
      description = "The directory's base DN, e.g. dc=id,dc=example,dc=org.";
    };
  };

  config = mkIf cfg.enable {
    services.authelia.instances.${instance} = {
      enable = true;
      secrets = {
        jwtSecretFile = "${secretsDir}/jwt-secret";
        storageEncryptionKeyFile = "${secretsDir}/storage-encryption-key";
        sessionSecretFile = "${secretsDir}/session-secret";
      };
      environmentVariables.AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE = "${secretsDir}/ldap-password";
      settings = {
        # host/port rather than the newer `address`: the nixpkgs module declares them with defaults.
        server = {
          host = "127.0.0.1";
          inherit port;
        };
        log.level = "info";
        authentication_backend.ldap = {
          implementation = "lldap";
          address = "ldaps://${cfg.ldapHost}:6360";
          base_dn = cfg.ldapBaseDn;
          user = "uid=authelia,ou=people,${cfg.ldapBaseDn}";
        };
        session.cookies = [
          {
            domain = if cfg.cookieDomain == null then domain else cfg.cookieDomain;
            authelia_url = "https://${domain}";
          }
        ];
        storage.local.path = "${stateDir}/db.sqlite3";
        notifier.filesystem.filename = "${stateDir}/notifications.txt";
        access_control.default_policy = "two_factor";
        telemetry.metrics.enabled = true;
      };
    };

    fediversity.secrets = {
      authelia-jwt = secret "jwt-secret";
      authelia-storage-key = secret "storage-encryption-key";
      authelia-session = secret "session-secret";
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost { inherit port; };
    };

    # Second factors and consents live in the SQLite file, encrypted with the storage key.
    fediversity.backup = {
      paths = [ stateDir ];
      quiesceUnits = [ "${user}.service" ];
    };
  };
}
