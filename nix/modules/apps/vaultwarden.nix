# Vaultwarden (core service: secret management for people and teams, Bitwarden-compatible) on
# services.vaultwarden with SQLite, the admin token generated on the host into an environment file,
# and an nginx vhost with ACME.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.vaultwarden;
  domain = config.fediversity.domain;
  port = 8222;
  # The module's state dir moved from bitwarden_rs to vaultwarden with NixOS 24.11.
  stateDir =
    if lib.versionOlder config.system.stateVersion "24.11" then
      "/var/lib/bitwarden_rs"
    else
      "/var/lib/vaultwarden";
  environmentFile = "/var/lib/vaultwarden-secrets/secrets/admin.env";
  proxyVhost = import ../../lib/proxyVhost.nix;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.vaultwarden = {
    enable = mkEnableOption "Vaultwarden on fediversity.domain";
    signupsAllowed = mkOption {
      type = types.bool;
      default = false;
    };
  };

  config = mkIf cfg.enable {
    services.vaultwarden = {
      enable = true;
      dbBackend = "sqlite";
      inherit environmentFile;
      config = {
        DOMAIN = "https://${domain}";
        SIGNUPS_ALLOWED = cfg.signupsAllowed;
        ROCKET_ADDRESS = "127.0.0.1";
        ROCKET_PORT = port;
      };
    };

    # Read by systemd (EnvironmentFile) as root; kept apart from the state dir the module manages.
    fediversity.secrets.vaultwarden-admin = {
      path = environmentFile;
      encoding = "base64";
      bytes = 48;
      prefix = "ADMIN_TOKEN=";
      requiredBy = [ "vaultwarden.service" ];
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost {
        inherit port;
        websockets = true;
        maxBodySizeMb = 128;
      };
    };

    fediversity.backup = {
      paths = [
        stateDir
        "/var/lib/vaultwarden-secrets"
      ];
      quiesceUnits = [ "vaultwarden.service" ];
    };
  };
}
