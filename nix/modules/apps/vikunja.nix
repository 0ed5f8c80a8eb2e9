# Vikunja (project planning; AGPL, no open-core edition) on services.vikunja with SQLite, the JWT
# secret generated on the host into an environment file (otherwise every restart logs users out),
# and an nginx vhost with ACME.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.vikunja;
  domain = config.fediversity.domain;
  port = 3456;
  # Read by systemd (EnvironmentFile) as root before the service starts.
  environmentFile = "/var/lib/vikunja/secrets/jwt.env";
  proxyVhost = import ../../lib/proxyVhost.nix;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.vikunja = {
    enable = mkEnableOption "Vikunja on fediversity.domain";
    enableRegistration = mkOption {
      type = types.bool;
      default = false;
    };
  };

  config = mkIf cfg.enable {
    services.vikunja = {
      enable = true;
      frontendScheme = "https";
      frontendHostname = domain;
      inherit port;
      environmentFiles = [ environmentFile ];
      database = {
        type = "sqlite";
        path = "/var/lib/vikunja/vikunja.db";
      };
      settings.service.enableregistration = cfg.enableRegistration;
    };
    # The module uses DynamicUser; restores and migrations want a stable owner of /var/lib/vikunja.
    users.users.vikunja = {
      isSystemUser = true;
      group = "vikunja";
    };
    users.groups.vikunja = { };
    systemd.services.vikunja = {
      serviceConfig = {
        DynamicUser = lib.mkForce false;
        User = "vikunja";
        Group = "vikunja";
      };
    };

    fediversity.secrets.vikunja-jwt = {
      path = environmentFile;
      prefix = "VIKUNJA_SERVICE_JWTSECRET=";
      requiredBy = [ "vikunja.service" ];
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost {
        inherit port;
        maxBodySizeMb = 20;
      };
    };

    fediversity.backup = {
      paths = [ "/var/lib/vikunja" ];
      quiesceUnits = [ "vikunja.service" ];
    };
  };
}
