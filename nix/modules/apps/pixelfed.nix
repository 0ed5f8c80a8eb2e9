# Pixelfed on services.pixelfed: local MariaDB (the module's default and upstream's best-supported
# database) and Redis, an nginx vhost with ACME (the module creates none by default), and APP_KEY
# generated on the host.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.pixelfed;
  domain = config.fediversity.domain;
  secretFile = "/var/lib/pixelfed/secrets/app-key.env";
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.pixelfed = {
    enable = mkEnableOption "Pixelfed on fediversity.domain";
    openRegistration = mkOption {
      type = types.bool;
      default = false;
    };
    maxUploadSizeMb = mkOption {
      type = types.ints.between 1 4096;
      default = 16;
    };
  };

  config = mkIf cfg.enable {
    services.pixelfed = {
      enable = true;
      inherit domain secretFile;
      database = {
        type = "mysql";
        createLocally = true;
      };
      redis.createLocally = true;
      maxUploadSize = "${toString cfg.maxUploadSizeMb}M";
      nginx = {
        enableACME = true;
        forceSSL = true;
      };
      settings = {
        # The module sets its own default (closed); the description decides.
        OPEN_REGISTRATION = lib.mkForce cfg.openRegistration;
      };
    };

    fediversity.secrets.pixelfed-app-key = {
      path = secretFile;
      owner = config.services.pixelfed.user;
      group = config.services.pixelfed.group;
      encoding = "base64";
      bytes = 32;
      prefix = "APP_KEY=base64:";
      requiredBy = [
        "pixelfed-data-setup.service"
        "phpfpm-pixelfed.service"
        "pixelfed-horizon.service"
      ];
    };

    # MariaDB's files are not consistent while it runs: back up a dump taken just before.
    services.mysqlBackup = {
      enable = true;
      databases = [ "pixelfed" ];
    };
    fediversity.backup = {
      prepareUnits = [ "mysql-backup.service" ];
      paths = [
        "/var/lib/pixelfed/secrets"
        "/var/lib/pixelfed/storage"
        config.services.mysqlBackup.location
      ];
    };
  };
}
