# Maps a host description (the JSON the portal renders, schema in
# plugins/fediversity-common/src/hostDescription.ts) to the NixOS option definitions of one host.
#
# Written with builtins only, so `nix-instantiate --eval` can check it without nixpkgs. The
# portal validates descriptions before rendering; the checks here are the second line, for
# hand-written files. Value types are checked again by the options (modules/options.nix).
description:
let
  apps = import ./apps.nix;
  d = description;

  knownFields = [
    "schemaVersion"
    "hostname"
    "domain"
    "app"
    "appOptions"
    "stateVersion"
    "sshAuthorizedKeys"
    "acmeEmail"
    "acmeStaging"
    "postgresqlMajor"
    "backupTargets"
    "exporters"
    "motd"
  ];
  unknownFields = builtins.filter (field: !(builtins.elem field knownFields)) (builtins.attrNames d);

  appOptions = d.appOptions or { };
  # Option names become attribute names of fediversity.apps.<app>: plain camelCase only, so
  # neither `enable` nor module-system keys such as `_type` can be smuggled in.
  badOptionNames = builtins.filter (
    name: name == "enable" || builtins.match "[a-z][A-Za-z0-9]{0,63}" name == null
  ) (builtins.attrNames appOptions);

  isString = builtins.isString;
  matches = regex: value: isString value && builtins.match regex value != null;
  hostLabel = "[a-z]([a-z0-9-]{0,61}[a-z0-9])?";
  dnsName = "(${hostLabel}\\.)+${hostLabel}";

  checks = [
    {
      ok = builtins.isAttrs d;
      message = "must be an attribute set";
    }
    {
      ok = (d.schemaVersion or null) == 1;
      message = "schemaVersion must be 1";
    }
    {
      ok = unknownFields == [ ];
      message = "unknown fields ${builtins.toJSON unknownFields}";
    }
    {
      ok = matches hostLabel (d.hostname or null);
      message = "hostname must be a lower-case host label";
    }
    {
      ok = matches dnsName (d.domain or null);
      message = "domain must be a lower-case DNS name";
    }
    {
      ok = builtins.elem (d.app or null) apps;
      message = "app must be one of ${builtins.toJSON apps}";
    }
    {
      ok = builtins.isAttrs appOptions && badOptionNames == [ ];
      message = "appOptions must be a set of camelCase names, got ${builtins.toJSON badOptionNames}";
    }
  ];
  failed = builtins.filter (check: !check.ok) checks;

  backupTarget = target: {
    name = target.name;
    value = {
      repository = target.repository;
      environmentFile = target.environmentFile or null;
      schedule = target.schedule or "daily";
    };
  };
in
if failed != [ ] then
  throw "host description ${builtins.toJSON (d.hostname or "?")}: ${(builtins.head failed).message}"
else
  {
    networking.hostName = d.hostname;
    system.stateVersion = d.stateVersion or "25.05";
    fediversity = {
      domain = d.domain;
      sshAuthorizedKeys = d.sshAuthorizedKeys;
      acme = {
        email = d.acmeEmail;
        staging = d.acmeStaging or false;
      };
      postgresql.major = d.postgresqlMajor or 16;
      backup.targets = builtins.listToAttrs (map backupTarget (d.backupTargets or [ ]));
      exporters = {
        enabled = d.exporters.enabled or [ "node" ];
        openFirewall = d.exporters.openFirewall or false;
      };
      motd = d.motd or null;
      apps.${d.app} = appOptions // {
        enable = true;
      };
    };
  }
