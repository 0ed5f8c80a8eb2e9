# BIND 9 (core service: authoritative DNS) on services.bind. The portal updates records over
# RFC 2136 signed with a TSIG key generated on the host (it reads the key over SSH once). Zones
# start from a minimal SOA/NS file the first time and keep their dynamic updates (journal) after.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.bind9;
  domain = config.fediversity.domain;
  zonesDir = "/var/lib/named";
  keyFile = "${zonesDir}/secrets/tsig-fediversity-update.conf";
  dnsName = types.strMatching "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";

  # Zone names are checked DNS names, so they are safe in file names and zone text.
  initialZone =
    zone:
    pkgs.writeText "${zone}.zone" ''
      $ORIGIN ${zone}.
      $TTL 300
      @ IN SOA ${domain}. hostmaster.${zone}. 1 3600 900 1209600 300
      @ IN NS ${domain}.
    '';
in
{
  imports = [ ../options.nix ];

  options.fediversity.apps.bind9 = {
    enable = mkEnableOption "BIND 9, primary for the given zones, name server name fediversity.domain";
    zones = mkOption {
      type = types.nonEmptyListOf dnsName;
      description = "Zones this server is primary for.";
    };
  };

  config = mkIf cfg.enable {
    services.bind = {
      enable = true;
      extraConfig = ''
        include "${keyFile}";
      '';
      zones = lib.genAttrs cfg.zones (zone: {
        master = true;
        file = "${zonesDir}/${zone}.zone";
        extraConfig = ''
          allow-update { key "fediversity-update"; };
        '';
      });
    };

    fediversity.secrets.bind9-tsig = {
      path = keyFile;
      owner = "named";
      encoding = "base64";
      bytes = 32;
      prefix = "key \"fediversity-update\" {\n  algorithm hmac-sha256;\n  secret \"";
      suffix = "\";\n};";
      requiredBy = [ "bind.service" ];
    };

    systemd.services.fediversity-bind9-zones = {
      description = "Create missing zone files from their initial SOA/NS";
      wantedBy = [ "multi-user.target" ];
      before = [ "bind.service" ];
      requiredBy = [ "bind.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      # named writes journals next to the zone files, so the directory is its own.
      script = ''
        install -d -m 0750 -o named ${zonesDir}
        ${lib.concatMapStrings (zone: ''
          if [ ! -e ${zonesDir}/${zone}.zone ]; then
            install -m 0640 -o named ${initialZone zone} ${zonesDir}/${zone}.zone
          fi
        '') cfg.zones}
      '';
    };

    networking.firewall = {
      allowedTCPPorts = [ 53 ];
      allowedUDPPorts = [ 53 ];
    };

    # `rndc freeze` writes the journals into the zone files and holds updates while restic reads.
    fediversity.backup = {
      paths = [ zonesDir ];
      prepareCommands = [
        [
          "${pkgs.bind}/bin/rndc"
          "-k"
          "/etc/bind/rndc.key"
          "freeze"
        ]
      ];
      cleanupCommands = [
        [
          "${pkgs.bind}/bin/rndc"
          "-k"
          "/etc/bind/rndc.key"
          "thaw"
        ]
      ];
    };
  };
}
