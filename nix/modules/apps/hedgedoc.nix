# HedgeDoc on services.hedgedoc. The module creates no database: ensureDatabases/ensureUsers do,
# reached over the PostgreSQL socket with peer auth. The session secret is generated on the host
# into an environment file; nginx proxies with websockets for /socket.io/.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.hedgedoc;
  domain = config.fediversity.domain;
  port = 3000;
  environmentFile = "/var/lib/hedgedoc/secrets/session.env";
  proxyVhost = import ../../lib/proxyVhost.nix;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.hedgedoc = {
    enable = mkEnableOption "HedgeDoc on fediversity.domain";
    allowAnonymous = mkOption {
      type = types.bool;
      default = false;
    };
    allowEmailRegister = mkOption {
      type = types.bool;
      default = false;
    };
  };

  config = mkIf cfg.enable {
    services.postgresql = {
      enable = true;
      ensureDatabases = [ "hedgedoc" ];
      ensureUsers = [
        {
          name = "hedgedoc";
          ensureDBOwnership = true;
        }
      ];
    };

    services.hedgedoc = {
      enable = true;
      inherit environmentFile;
      settings = {
        inherit domain port;
        host = "127.0.0.1";
        protocolUseSSL = true;
        allowOrigin = [ domain ];
        db = {
          dialect = "postgres";
          host = "/run/postgresql";
          database = "hedgedoc";
          username = "hedgedoc";
        };
        allowAnonymous = cfg.allowAnonymous;
        allowEmailRegister = cfg.allowEmailRegister;
        sessionSecret = "$CMD_SESSION_SECRET";
      };
    };
    systemd.services.hedgedoc = {
      after = [ "postgresql.service" ];
      requires = [ "postgresql.service" ];
    };

    # Read by systemd (EnvironmentFile) as root before the service starts.
    fediversity.secrets.hedgedoc-session = {
      path = environmentFile;
      prefix = "CMD_SESSION_SECRET=";
      requiredBy = [ "hedgedoc.service" ];
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost {
        inherit port;
        websockets = true;
        maxBodySizeMb = 20;
      };
    };

    fediversity.backup.paths = [
      "/var/lib/hedgedoc/uploads"
      "/var/lib/hedgedoc/secrets"
    ];
  };
}
