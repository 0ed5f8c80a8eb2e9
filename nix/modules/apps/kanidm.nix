# Kanidm (core service: identity management and authentication, OIDC for the other apps) on
# services.kanidm. Kanidm insists on TLS even behind a proxy: it reads the ACME certificate nginx
# obtains, and nginx proxies to it over HTTPS on loopback.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf;
  cfg = config.fediversity.apps.kanidm;
  domain = config.fediversity.domain;
  certDir = config.security.acme.certs.${domain}.directory;
  port = 8443;
  proxyVhost = import ../../lib/proxyVhost.nix;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.kanidm = {
    enable = mkEnableOption "Kanidm identity server on fediversity.domain";
  };

  config = mkIf cfg.enable {
    services.kanidm = {
      enableServer = true;
      serverSettings = {
        # The domain is part of every credential (WebAuthn): it never changes.
        inherit domain;
        origin = "https://${domain}";
        bindaddress = "127.0.0.1:${toString port}";
        tls_chain = "${certDir}/fullchain.pem";
        tls_key = "${certDir}/key.pem";
        online_backup = {
          path = "/var/lib/kanidm/backups";
          schedule = "00 22 * * *";
          versions = 7;
        };
      };
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost {
        inherit port;
        scheme = "https";
      };
    };
    users.users.kanidm.extraGroups = [ config.services.nginx.group ];
    security.acme.certs.${domain}.reloadServices = [ "kanidm.service" ];

    # The online backups are consistent copies; the live database is not.
    fediversity.backup.paths = [ "/var/lib/kanidm/backups" ];
  };
}
