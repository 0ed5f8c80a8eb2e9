# Knot DNS (core service: authoritative DNS) on services.knot. The portal updates records over
# RFC 2136 signed with a TSIG key generated on the host; it reads the key over SSH once. Zones
# start from a minimal SOA/NS file the first time and keep their dynamic updates afterwards.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.fediversity.apps.knot;
  domain = config.fediversity.domain;
  keyFile = "/var/lib/knot/secrets/tsig-fediversity.conf";
  zonesDir = "/var/lib/knot/zones";
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

  options.fediversity.apps.knot = {
    enable = mkEnableOption "Knot DNS, primary for the given zones, nameserver name fediversity.domain";
    zones = mkOption {
      type = types.nonEmptyListOf dnsName;
      description = "Zones this server is primary for.";
    };
  };

  config = mkIf cfg.enable {
    services.knot = {
      enable = true;
      keyFiles = [ keyFile ];
      settings = {
        server.listen = [
          "0.0.0.0@53"
          "::@53"
        ];
        acl.fediversity-update = {
          key = "fediversity-update";
          action = "update";
        };
        template.default = {
          storage = zonesDir;
          acl = [ "fediversity-update" ];
          # Keep updates in the journal and write them back to the zone file.
          journal-content = "all";
          zonefile-load = "difference-no-serial";
          zonefile-sync = 0;
          semantic-checks = true;
        };
        zone = lib.genAttrs cfg.zones (zone: {
          file = "${zone}.zone";
        });
      };
    };

    fediversity.secrets.knot-tsig = {
      path = keyFile;
      owner = "knot";
      group = "knot";
      encoding = "base64";
      bytes = 32;
      prefix = "key:\n  - id: fediversity-update\n    algorithm: hmac-sha256\n    secret: ";
      requiredBy = [ "knot.service" ];
    };

    systemd.services.fediversity-knot-zones = {
      description = "Create missing Knot zone files from their initial SOA/NS";
      wantedBy = [ "multi-user.target" ];
      before = [ "knot.service" ];
      requiredBy = [ "knot.service" ];
      serviceConfig.Type = "oneshot";
      script = ''
        install -d -m 0750 -o knot -g knot ${zonesDir}
        ${lib.concatMapStrings (zone: ''
          if [ ! -e ${zonesDir}/${zone}.zone ]; then
            install -m 0640 -o knot -g knot ${initialZone zone} ${zonesDir}/${zone}.zone
          fi
        '') cfg.zones}
      '';
    };

    networking.firewall = {
      allowedTCPPorts = [ 53 ];
      allowedUDPPorts = [ 53 ];
    };

    fediversity.backup.paths = [ "/var/lib/knot" ];
  };
}
