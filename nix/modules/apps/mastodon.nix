# Mastodon on services.mastodon: local PostgreSQL (peer auth) and Redis, nginx + ACME, and the
# module's own secret generation into /var/lib/mastodon/secrets (never the store).
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.mastodon;
  domain = config.fediversity.domain;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.mastodon = {
    enable = mkEnableOption "Mastodon on fediversity.domain";
    streamingProcesses = mkOption {
      type = types.ints.between 1 16;
      default = 1;
      description = "Streaming API processes (upstream suggests cores - 1).";
    };
    singleUserMode = mkOption {
      type = types.bool;
      default = false;
    };
  };

  config = mkIf cfg.enable {
    services.mastodon = {
      enable = true;
      # LOCAL_DOMAIN can never change: it is part of every account's identity.
      localDomain = domain;
      streamingProcesses = cfg.streamingProcesses;
      database.createLocally = true;
      redis.createLocally = true;
      # A local Postfix sends the notifications; relays are configured per provider later.
      smtp = {
        createLocally = true;
        fromAddress = "notifications@${domain}";
      };
      configureNginx = true;
      extraConfig = {
        SINGLE_USER_MODE = if cfg.singleUserMode then "true" else "false";
      };
    };

    fediversity.backup.paths = [
      "/var/lib/mastodon/secrets"
      "/var/lib/mastodon/public-system"
    ];
  };
}
