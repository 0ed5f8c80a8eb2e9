# What every portal host runs: the Proxmox LXC base, sshd with keys only, flakes, ACME, a pinned
# PostgreSQL, restic backups of the app's state and Prometheus exporters.
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:
let
  inherit (lib) mkDefault mkIf;
  cfg = config.fediversity;
  postgresqlEnabled = config.services.postgresql.enable;
  nginxEnabled = config.services.nginx.enable;
  exporterWanted = name: builtins.elem name cfg.exporters.enabled;
  # Shell lines from argv lists, every argument quoted.
  lines = commands: lib.concatMapStrings (argv: "${lib.escapeShellArgs argv}\n") commands;

  resticPasswordFile = name: "/var/lib/fediversity/secrets/restic-${name}";
in
{
  imports = [
    # Without this import the container boots into a broken system (reference/nixos.md §4).
    (modulesPath + "/virtualisation/proxmox-lxc.nix")
    ./options.nix
  ];

  config = {
    # PVE writes the network and hostname files; the description's hostname must match PVE's.
    proxmoxLXC = {
      privileged = mkDefault false;
      manageNetwork = mkDefault false;
      manageHostName = mkDefault false;
    };

    # The stock LXC image has flakes off; the portal deploys with `nixos-rebuild --flake`.
    nix.settings.experimental-features = [
      "nix-command"
      "flakes"
    ];
    nix.gc = {
      automatic = true;
      options = "--delete-older-than 30d";
    };

    services.openssh = {
      enable = true;
      settings = {
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        PermitRootLogin = "prohibit-password";
      };
    };
    users.users.root.openssh.authorizedKeys.keys = cfg.sshAuthorizedKeys;
    users.motd = mkIf (cfg.motd != null) cfg.motd;

    security.acme = {
      acceptTerms = true;
      defaults = {
        email = mkIf (cfg.acme.email != null) cfg.acme.email;
        server = mkIf cfg.acme.staging "https://acme-staging-v02.api.letsencrypt.org/directory";
      };
    };

    # Pinned, not following stateVersion: both ends of a streaming replica need the same major.
    services.postgresql.package = mkDefault pkgs."postgresql_${toString cfg.postgresql.major}";
    # Set once, when the cluster is created. Checksums let pg_rewind rejoin a diverged old primary.
    # 1 MB WAL segments instead of 16: a switchover's promotion copies the last segment to the new
    # timeline and fsyncs it (16 MB ≈ 45 ms, most of the promotion, inside the migration's downtime);
    # the cost is more, smaller files in pg_wal, which these apps' WAL volumes keep few.
    services.postgresql.initdbArgs = mkDefault [
      "--data-checksums"
      "--wal-segsize=1"
    ];
    # Consistent dumps for restic, taken right before each backup instead of copying live files.
    services.postgresqlBackup = mkIf postgresqlEnabled {
      enable = true;
      backupAll = true;
      startAt = [ ];
      compression = "zstd";
    };
    fediversity.backup.prepareUnits = lib.optional postgresqlEnabled "postgresqlBackup.service";

    services.nginx = mkIf nginxEnabled {
      recommendedProxySettings = true;
      recommendedTlsSettings = true;
      recommendedGzipSettings = true;
      recommendedOptimisation = true;
      statusPage = exporterWanted "nginx";
    };
    networking.firewall.allowedTCPPorts = lib.optionals nginxEnabled [
      80
      443
    ];

    fediversity.secrets = lib.mapAttrs' (
      name: _target:
      lib.nameValuePair "restic-${name}" {
        path = resticPasswordFile name;
        encoding = "base64";
        requiredBy = [ "restic-backups-${name}.service" ];
      }
    ) cfg.backup.targets;

    services.restic.backups = lib.mapAttrs (name: target: {
      inherit (target) repository;
      # Generated on the host: the portal escrows a copy after the first deploy, or the backups
      # cannot be restored elsewhere.
      passwordFile = resticPasswordFile name;
      environmentFile = target.environmentFile;
      initialize = true;
      paths = cfg.backup.paths ++ lib.optional postgresqlEnabled config.services.postgresqlBackup.location;
      timerConfig = {
        OnCalendar = target.schedule;
        RandomizedDelaySec = "15m";
        Persistent = true;
      };
      pruneOpts = [
        "--keep-hourly 24"
        "--keep-daily 7"
        "--keep-weekly 5"
        "--keep-monthly 12"
      ];
      # Dumps first, then app-specific quiesce steps; undone in reverse order afterwards.
      backupPrepareCommand = lines (
        lib.optional (cfg.backup.prepareUnits != [ ]) ([ "systemctl" "start" ] ++ cfg.backup.prepareUnits)
        ++ cfg.backup.prepareCommands
        ++ lib.optional (cfg.backup.quiesceUnits != [ ]) ([ "systemctl" "stop" ] ++ cfg.backup.quiesceUnits)
      );
      backupCleanupCommand = lines (
        lib.optional (cfg.backup.quiesceUnits != [ ]) ([ "systemctl" "start" ] ++ cfg.backup.quiesceUnits)
        ++ cfg.backup.cleanupCommands
      );
    }) cfg.backup.targets;

    services.prometheus.exporters = {
      node = mkIf (exporterWanted "node") {
        enable = true;
        enabledCollectors = [ "systemd" ];
        openFirewall = cfg.exporters.openFirewall;
      };
      postgres = mkIf (exporterWanted "postgres" && postgresqlEnabled) {
        enable = true;
        runAsLocalSuperUser = true;
        openFirewall = cfg.exporters.openFirewall;
      };
      nginx = mkIf (exporterWanted "nginx" && nginxEnabled) {
        enable = true;
        openFirewall = cfg.exporters.openFirewall;
      };
      redis = mkIf (exporterWanted "redis" && config.services.redis.servers != { }) {
        enable = true;
        openFirewall = cfg.exporters.openFirewall;
      };
    };
  };
}
