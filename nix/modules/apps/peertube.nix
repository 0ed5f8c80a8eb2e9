# PeerTube on services.peertube: database, Redis and SMTP all created locally (the module's
# defaults are off), nginx + ACME on 443, and the secrets file generated on the host (the module
# asserts it is outside the store).
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.peertube;
  domain = config.fediversity.domain;
  secretsFile = "/var/lib/peertube/secrets/peertube-secret";
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.peertube = {
    enable = mkEnableOption "PeerTube on fediversity.domain";
    title = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Instance name shown to visitors.";
    };
    transcoding = mkOption {
      type = types.bool;
      default = true;
      description = "Transcode uploads (ffmpeg: 3-5 GB RAM per concurrent job).";
    };
  };

  config = mkIf cfg.enable {
    services.peertube = {
      enable = true;
      localDomain = domain;
      listenWeb = 443;
      enableWebHttps = true;
      configureNginx = true;
      database.createLocally = true;
      redis.createLocally = true;
      smtp.createLocally = true;
      secrets.secretsFile = secretsFile;
      settings = {
        transcoding.enabled = cfg.transcoding;
      }
      // lib.optionalAttrs (cfg.title != null) { instance.name = cfg.title; };
    };
    services.nginx.virtualHosts.${domain} = {
      enableACME = true;
      forceSSL = true;
    };

    fediversity.secrets.peertube = {
      path = secretsFile;
      owner = config.services.peertube.user;
      group = config.services.peertube.group;
      encoding = "hex";
      bytes = 32;
      requiredBy = [ "peertube.service" ];
    };

    fediversity.backup.paths = [
      "/var/lib/peertube/secrets"
      "/var/lib/peertube/storage"
    ];
  };
}
