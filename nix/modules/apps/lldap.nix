# LLDAP (core service: identity management, the directory Authelia and the apps read) on
# services.lldap. LDAP is served over TLS (LDAPS, port 6360) with the ACME certificate nginx
# obtains for the web UI; the JWT secret and first admin password are generated on the host, the
# server key by lldap in its state directory.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf;
  cfg = config.fediversity.apps.lldap;
  domain = config.fediversity.domain;
  certDir = config.security.acme.certs.${domain}.directory;
  secretsDir = "/var/lib/lldap/secrets";
  httpPort = 17170;
  ldapsPort = 6360;
  # social.example.org -> dc=social,dc=example,dc=org (labels are checked DNS labels).
  baseDn = lib.concatMapStringsSep "," (label: "dc=${label}") (lib.splitString "." domain);
  proxyVhost = import ../../lib/proxyVhost.nix;
  secret = name: {
    path = "${secretsDir}/${name}";
    owner = "lldap";
    group = "lldap";
    encoding = "base64";
    requiredBy = [ "lldap.service" ];
  };
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.lldap = {
    enable = mkEnableOption "LLDAP on fediversity.domain (base DN from the domain's labels)";
  };

  config = mkIf cfg.enable {
    services.lldap = {
      enable = true;
      settings = {
        ldap_base_dn = baseDn;
        http_url = "https://${domain}";
        http_host = "127.0.0.1";
        http_port = httpPort;
        # Both listeners bind all addresses; the firewall opens only LDAPS to other hosts.
        ldap_user_email = "admin@${domain}";
        ldap_user_pass_file = "${secretsDir}/admin-password";
        jwt_secret_file = "${secretsDir}/jwt-secret";
        database_url = "sqlite:///var/lib/lldap/users.db?mode=rwc";
        ldaps_options = {
          enabled = true;
          port = ldapsPort;
          cert_file = "${certDir}/fullchain.pem";
          key_file = "${certDir}/key.pem";
        };
      };
    };
    # The module runs lldap with DynamicUser; a fixed user owns the secrets and survives
    # restores and migrations with the same ownership.
    users.users.lldap = {
      isSystemUser = true;
      group = "lldap";
      extraGroups = [ config.services.nginx.group ];
    };
    users.groups.lldap = { };
    systemd.services.lldap.serviceConfig = {
      DynamicUser = lib.mkForce false;
      User = "lldap";
      Group = "lldap";
    };

    fediversity.secrets = {
      lldap-jwt = secret "jwt-secret";
      lldap-admin = secret "admin-password";
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost { port = httpPort; };
    };
    security.acme.certs.${domain}.reloadServices = [ "lldap.service" ];
    networking.firewall.allowedTCPPorts = [ ldapsPort ];

    fediversity.backup = {
      paths = [ "/var/lib/lldap" ];
      quiesceUnits = [ "lldap.service" ];
    };
  };
}
