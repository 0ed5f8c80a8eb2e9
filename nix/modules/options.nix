# Options shared by the common module and the app modules: what a host description sets
# (lib/hostSettings.nix) and what app modules contribute (backup paths, quiesce units, secrets).
{ lib, ... }:
let
  inherit (lib) mkOption types;
  hostLabel = "[a-z]([a-z0-9-]{0,61}[a-z0-9])?";
in
{
  imports = [ ./secrets.nix ];

  options.fediversity = {
    domain = mkOption {
      type = types.strMatching "(${hostLabel}\\.)+${hostLabel}";
      description = "Public domain of the app on this host. Federated apps can never change it.";
    };

    sshAuthorizedKeys = mkOption {
      type = types.listOf (types.strMatching "(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp[0-9]+|sk-[a-z0-9-]+@openssh\\.com) [A-Za-z0-9+/]+=* ?[^\n\r]*");
      default = [ ];
      description = "Root's authorized keys: the portal's deploy key and the operators'.";
    };

    acme = {
      email = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Account e-mail for Let's Encrypt.";
      };
      staging = mkOption {
        type = types.bool;
        default = false;
        description = "Use the Let's Encrypt staging CA (tests and demo hosts).";
      };
    };

    postgresql.major = mkOption {
      type = types.enum [
        15
        16
        17
      ];
      default = 16;
      description = ''
        PostgreSQL major version, pinned instead of following system.stateVersion: a streaming
        replica at another provider must run the same major.
      '';
    };

    backup = {
      targets = mkOption {
        type = types.attrsOf (
          types.submodule {
            options = {
              repository = mkOption {
                type = types.strMatching "[A-Za-z0-9._~:/@%+=,-]+";
                description = "restic repository (credentials go in environmentFile).";
              };
              environmentFile = mkOption {
                type = types.nullOr (types.strMatching "/[A-Za-z0-9._/-]+");
                default = null;
                description = "Env file with the repository's credentials, uploaded by the portal (never in the store).";
              };
              schedule = mkOption {
                type = types.enum [
                  "hourly"
                  "daily"
                  "weekly"
                ];
                default = "daily";
              };
            };
          }
        );
        default = { };
        description = "restic repositories this host backs up to.";
      };
      paths = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "State directories the app modules declare; backed up to every target.";
      };
      prepareUnits = mkOption {
        type = types.listOf (types.strMatching "[A-Za-z0-9@._-]+");
        default = [ ];
        description = "Oneshot units run before each backup, e.g. database dumps.";
      };
      prepareCommands = mkOption {
        type = types.listOf (types.nonEmptyListOf types.str);
        default = [ ];
        description = "Commands (argv lists) run before each backup, after the prepare units.";
      };
      cleanupCommands = mkOption {
        type = types.listOf (types.nonEmptyListOf types.str);
        default = [ ];
        description = "Commands (argv lists) run after each backup, also when it failed.";
      };
      quiesceUnits = mkOption {
        type = types.listOf (types.strMatching "[A-Za-z0-9@._-]+");
        default = [ ];
        description = ''
          Units stopped while restic reads the state (e.g. apps writing SQLite files) and started
          again afterwards. PostgreSQL is dumped instead of stopped.
        '';
      };
    };

    exporters = {
      enabled = mkOption {
        type = types.listOf (
          types.enum [
            "node"
            "postgres"
            "nginx"
            "redis"
          ]
        );
        default = [ "node" ];
        description = "Prometheus exporters to run (each only if its service is enabled).";
      };
      openFirewall = mkOption {
        type = types.bool;
        default = false;
        description = "Open the exporters' ports (otherwise scrape through an SSH tunnel or a private network).";
      };
    };

    motd = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Message shown at SSH login.";
    };
  };
}
