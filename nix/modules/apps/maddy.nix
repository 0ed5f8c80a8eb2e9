# Maddy (core service: e-mail with SMTP, submission and IMAP with SASL auth in one server; no
# Dovecot) on services.maddy, with TLS from an ACME certificate nginx obtains for the mail host.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.maddy;
  domain = config.fediversity.domain;
  certDir = config.security.acme.certs.${domain}.directory;
  dnsName = types.strMatching "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
  mailDomains = if cfg.mailDomains == null then [ domain ] else cfg.mailDomains;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.maddy = {
    enable = mkEnableOption "Maddy mail server with host name fediversity.domain";
    mailDomains = mkOption {
      type = types.nullOr (types.nonEmptyListOf dnsName);
      default = null;
      description = "Domains whose mail is delivered here; the host's domain by default.";
    };
  };

  config = mkIf cfg.enable {
    services.maddy = {
      enable = true;
      hostname = domain;
      primaryDomain = builtins.head mailDomains;
      localDomains = mailDomains;
      openFirewall = true;
      tls = {
        loader = "file";
        certificates = [
          {
            keyPath = "${certDir}/key.pem";
            certPath = "${certDir}/fullchain.pem";
          }
        ];
      };
    };

    # nginx answers the HTTP-01 challenge for the mail host; maddy reads the key via nginx's group.
    services.nginx = {
      enable = true;
      virtualHosts.${domain} = {
        enableACME = true;
        forceSSL = true;
        locations."/".return = "404";
      };
    };
    users.users.maddy.extraGroups = [ config.services.nginx.group ];
    security.acme.certs.${domain}.reloadServices = [ "maddy.service" ];

    # Mailboxes and credentials are SQLite files: stop maddy while restic reads them.
    fediversity.backup = {
      paths = [ "/var/lib/maddy" ];
      quiesceUnits = [ "maddy.service" ];
    };
  };
}
