# Matrix Synapse on services.matrix-synapse. The module creates no database and Synapse refuses any
# collation but C, so the database is created with LC_COLLATE/LC_CTYPE 'C' from template0. The
# module has no nginx option: /_matrix and /_synapse/client are proxied here, and .well-known
# delegation lets federation use 443. When serverName differs from the domain, that name's web
# server must serve the same .well-known files.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.synapse;
  domain = config.fediversity.domain;
  serverName = if cfg.serverName == null then domain else cfg.serverName;
  secretsDir = "/var/lib/matrix-synapse/secrets";
  clientPort = 8008;
  wellKnown = builtins.toJSON;
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.synapse = {
    enable = mkEnableOption "Matrix Synapse served on fediversity.domain";
    serverName = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The Matrix server name (end of user IDs), defaults to the domain. Never changes.";
    };
    enableRegistration = mkOption {
      type = types.bool;
      default = false;
    };
  };

  config = mkIf cfg.enable {
    services.postgresql = {
      enable = true;
      # Runs once, when the cluster is created: the database must exist with C collation before
      # Synapse's first start, and ensureDatabases cannot set the collation.
      initialScript = pkgs.writeText "synapse-init.sql" ''
        CREATE ROLE "matrix-synapse" LOGIN;
        CREATE DATABASE "matrix-synapse" WITH OWNER "matrix-synapse"
          TEMPLATE template0 LC_COLLATE = 'C' LC_CTYPE = 'C' ENCODING = 'UTF8';
      '';
      ensureUsers = [ { name = "matrix-synapse"; } ];
    };

    services.matrix-synapse = {
      enable = true;
      settings = {
        server_name = serverName;
        public_baseurl = "https://${domain}/";
        enable_registration = cfg.enableRegistration;
        database = {
          name = "psycopg2";
          args = {
            user = "matrix-synapse";
            database = "matrix-synapse";
          };
        };
        enable_metrics = true;
        listeners = [
          {
            port = clientPort;
            bind_addresses = [ "127.0.0.1" ];
            type = "http";
            tls = false;
            x_forwarded = true;
            resources = [
              {
                names = [
                  "client"
                  "federation"
                ];
                compress = false;
              }
            ];
          }
          {
            port = 9000;
            bind_addresses = [ "127.0.0.1" ];
            type = "metrics";
            tls = false;
            resources = [ ];
          }
        ];
      };
      extraConfigFiles = [
        "${secretsDir}/registration-shared-secret.yaml"
        "${secretsDir}/macaroon-secret-key.yaml"
      ];
    };

    fediversity.secrets = {
      synapse-registration = {
        path = "${secretsDir}/registration-shared-secret.yaml";
        owner = "matrix-synapse";
        group = "matrix-synapse";
        prefix = "registration_shared_secret: \"";
        suffix = "\"";
        requiredBy = [ "matrix-synapse.service" ];
      };
      synapse-macaroon = {
        path = "${secretsDir}/macaroon-secret-key.yaml";
        owner = "matrix-synapse";
        group = "matrix-synapse";
        prefix = "macaroon_secret_key: \"";
        suffix = "\"";
        requiredBy = [ "matrix-synapse.service" ];
      };
    };

    services.nginx = {
      enable = true;
      virtualHosts.${domain} = {
        enableACME = true;
        forceSSL = true;
        locations = {
          "/_matrix".proxyPass = "http://127.0.0.1:${toString clientPort}";
          "/_synapse/client".proxyPass = "http://127.0.0.1:${toString clientPort}";
          # Federation on 443 instead of 8448, and clients find the homeserver from the domain.
          "= /.well-known/matrix/server".extraConfig = ''
            default_type application/json;
            return 200 '${wellKnown { "m.server" = "${domain}:443"; }}';
          '';
          "= /.well-known/matrix/client".extraConfig = ''
            default_type application/json;
            add_header Access-Control-Allow-Origin *;
            return 200 '${wellKnown { "m.homeserver".base_url = "https://${domain}"; }}';
          '';
        };
        extraConfig = "client_max_body_size 50m;\n";
      };
    };

    # The signing key (identity of the server) lives in the state directory, with the media store.
    fediversity.backup.paths = [ "/var/lib/matrix-synapse" ];
  };
}
