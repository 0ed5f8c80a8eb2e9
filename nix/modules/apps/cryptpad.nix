# CryptPad (secure document collaboration) on services.cryptpad with the module's nginx proxy and
# ACME for both origins: CryptPad needs a second, sandbox domain for its isolation model.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.cryptpad;
  domain = config.fediversity.domain;
  sandboxDomain = if cfg.sandboxDomain == null then "sandbox.${domain}" else cfg.sandboxDomain;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.cryptpad = {
    enable = mkEnableOption "CryptPad on fediversity.domain";
    sandboxDomain = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The sandbox origin's domain, `sandbox.<domain>` by default; needs its own DNS record.";
    };
  };

  config = mkIf cfg.enable {
    services.cryptpad = {
      enable = true;
      configureNginx = true;
      settings = {
        httpUnsafeOrigin = "https://${domain}";
        httpSafeOrigin = "https://${sandboxDomain}";
      };
    };

    # DynamicUser: the state lives under /var/lib/private.
    fediversity.backup = {
      paths = [ "/var/lib/private/cryptpad" ];
      quiesceUnits = [ "cryptpad.service" ];
    };
  };
}
