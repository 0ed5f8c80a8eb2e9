# Nextcloud on services.nextcloud: a pinned major (the module has no default package, and upgrades
# go one major at a time), local MariaDB (upstream's recommendation) over its socket, Redis caching,
# ACME on the vhost the module creates, and the admin password generated on the host.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.nextcloud;
  domain = config.fediversity.domain;
  adminpassFile = "/var/lib/nextcloud/secrets/adminpass";
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.nextcloud = {
    enable = mkEnableOption "Nextcloud on fediversity.domain";
    maxUploadSize = mkOption {
      type = types.strMatching "[1-9][0-9]{0,4}[MG]";
      default = "512M";
    };
    defaultPhoneRegion = mkOption {
      type = types.nullOr (types.strMatching "[A-Z]{2}");
      default = null;
    };
  };

  config = mkIf cfg.enable {
    services.nextcloud = {
      enable = true;
      hostName = domain;
      package = pkgs.nextcloud31;
      https = true;
      database.createLocally = true;
      configureRedis = true;
      maxUploadSize = cfg.maxUploadSize;
      config = {
        dbtype = "mysql";
        adminuser = "root";
        inherit adminpassFile;
      };
      settings = {
        overwriteprotocol = "https";
        maintenance_window_start = 1;
      }
      // lib.optionalAttrs (cfg.defaultPhoneRegion != null) { default_phone_region = cfg.defaultPhoneRegion; };
    };
    services.nginx.virtualHosts.${domain} = {
      enableACME = true;
      forceSSL = true;
    };

    fediversity.secrets.nextcloud-admin = {
      path = adminpassFile;
      owner = "nextcloud";
      group = "nextcloud";
      encoding = "base64";
      bytes = 24;
      requiredBy = [ "nextcloud-setup.service" ];
    };

    # MariaDB's files are not consistent while it runs: back up a dump taken just before.
    # config/ holds the instance secret, and the data directory must keep its path.
    services.mysqlBackup = {
      enable = true;
      databases = [ "nextcloud" ];
    };
    fediversity.backup = {
      prepareUnits = [ "mysql-backup.service" ];
      paths = [
        "/var/lib/nextcloud"
        config.services.mysqlBackup.location
      ];
    };
  };
}
