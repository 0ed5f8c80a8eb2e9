# GoToSocial on services.gotosocial with its default SQLite database (small footprint; copied while
# the service is stopped). The module has no nginx option, so the vhost proxies with websockets and
# a media-sized body limit.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.gotosocial;
  domain = config.fediversity.domain;
  port = 8080;
  proxyVhost = import ../../lib/proxyVhost.nix;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.gotosocial = {
    enable = mkEnableOption "GoToSocial on fediversity.domain";
    accountDomain = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Domain in account handles, if not the serving domain. Never changes.";
    };
    openRegistration = mkOption {
      type = types.bool;
      default = false;
    };
  };

  config = mkIf cfg.enable {
    services.gotosocial = {
      enable = true;
      settings = {
        # `host` is part of every account's identity and can never change.
        host = domain;
        protocol = "https";
        bind-address = "127.0.0.1";
        inherit port;
        accounts-registration-open = cfg.openRegistration;
        metrics-enabled = true;
      }
      // lib.optionalAttrs (cfg.accountDomain != null) { account-domain = cfg.accountDomain; };
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost {
        inherit port;
        websockets = true;
        maxBodySizeMb = 40;
      };
    };

    # database.sqlite holds every signing key: losing it loses the domain for federation.
    fediversity.backup = {
      paths = [ "/var/lib/gotosocial" ];
      quiesceUnits = [ "gotosocial.service" ];
    };
  };
}
