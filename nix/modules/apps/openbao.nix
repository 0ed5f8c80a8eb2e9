# OpenBao (core service: secret management, the community fork of Vault) on services.openbao with
# integrated (raft) storage under /var/lib/openbao and nginx + ACME in front. Initialising and
# unsealing are done by people on the host: unseal keys never pass through the portal.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf;
  cfg = config.fediversity.apps.openbao;
  domain = config.fediversity.domain;
  hostName = config.networking.hostName;
  port = 8200;
  proxyVhost = import ../../lib/proxyVhost.nix;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.openbao = {
    enable = mkEnableOption "OpenBao on fediversity.domain";
  };

  config = mkIf cfg.enable {
    services.openbao = {
      enable = true;
      settings = {
        ui = true;
        api_addr = "https://${domain}";
        cluster_addr = "http://127.0.0.1:8201";
        # TLS ends at nginx; the listener is loopback only.
        listener.default = {
          type = "tcp";
          address = "127.0.0.1:${toString port}";
          tls_disable = true;
        };
        storage.raft = {
          path = "/var/lib/openbao";
          # The host name is a checked host label.
          node_id = hostName;
        };
      };
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = proxyVhost { inherit port; };
    };

    # The raft data is encrypted at rest; a stopped server gives a consistent copy. The module
    # uses DynamicUser, so the files live under /var/lib/private.
    fediversity.backup = {
      paths = [ "/var/lib/private/openbao" ];
      quiesceUnits = [ "openbao.service" ];
    };
  };
}
