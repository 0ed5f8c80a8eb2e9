# Forgejo on services.forgejo: local PostgreSQL (the module creates it), LFS, metrics, and an nginx
# vhost with ACME (the module has none). The module generates its own secrets under its state dir.
# Git over SSH uses the system sshd.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.forgejo;
  domain = config.fediversity.domain;
  port = 3000;
  proxyVhost = import ../../lib/proxyVhost.nix;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.forgejo = {
    enable = mkEnableOption "Forgejo on fediversity.domain";
    title = mkOption {
      type = types.nullOr types.str;
      default = null;
    };
    disableRegistration = mkOption {
      type = types.bool;
      default = true;
    };
    lfs = mkOption {
      type = types.bool;
      default = true;
    };
  };

  config = mkIf cfg.enable {
    services.forgejo = {
      enable = true;
      database = {
        type = "postgres";
        createDatabase = true;
      };
      lfs.enable = cfg.lfs;
      settings = {
        server = {
          DOMAIN = domain;
          ROOT_URL = "https://${domain}/";
          HTTP_ADDR = "127.0.0.1";
          HTTP_PORT = port;
        };
        service.DISABLE_REGISTRATION = cfg.disableRegistration;
        session.COOKIE_SECURE = true;
        metrics.ENABLED = true;
      }
      // lib.optionalAttrs (cfg.title != null) { DEFAULT.APP_NAME = cfg.title; };
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost {
        inherit port;
        maxBodySizeMb = 512;
      };
    };

    # Repositories must stay on local disk; the state dir also holds app.ini's generated secrets.
    fediversity.backup = {
      paths = [ config.services.forgejo.stateDir ];
      quiesceUnits = [ "forgejo.service" ];
    };
  };
}
