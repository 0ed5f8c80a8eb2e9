# Test stand-ins for nixpkgs' `lib` and `pkgs`, written for these tests (no nixpkgs code): just
# what nix/modules use, with option types that check values the way the module system would.
let
  inherit (builtins)
    all
    attrNames
    concatStringsSep
    elem
    filter
    foldl'
    isAttrs
    isBool
    isInt
    isList
    isString
    listToAttrs
    map
    mapAttrs
    match
    replaceStrings
    ;

  type = name: check: { inherit name check; };
  types = rec {
    str = type "string" isString;
    lines = str;
    path = type "path" (v: isString v && match "/.*" v != null);
    bool = type "boolean" isBool;
    int = type "integer" isInt;
    port = ints.between 0 65535;
    ints = {
      between = lo: hi: type "integer between ${toString lo} and ${toString hi}" (v: isInt v && v >= lo && v <= hi);
      positive = type "positive integer" (v: isInt v && v > 0);
    };
    strMatching = regex: type "string matching ${regex}" (v: isString v && match regex v != null);
    enum = values: type "one of ${builtins.toJSON values}" (v: elem v values);
    nullOr = t: type "null or ${t.name}" (v: v == null || t.check v);
    listOf = t: type "list of ${t.name}" (v: isList v && all t.check v);
    nonEmptyListOf = t: type "non-empty list of ${t.name}" (v: isList v && v != [ ] && all t.check v);
    attrsOf = t: type "attribute set of ${t.name}" (v: isAttrs v && all t.check (builtins.attrValues v));
    submodule = _: type "submodule" isAttrs;
  };

  lib = rec {
    inherit types;
    mkOption = args: args // { _type = "option"; };
    mkEnableOption = description: mkOption {
      type = types.bool;
      default = false;
      inherit description;
    };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkAfter = content: { _type = "order"; inherit content; };
    optional = cond: value: if cond then [ value ] else [ ];
    optionals = cond: values: if cond then values else [ ];
    optionalAttrs = cond: attrs: if cond then attrs else { };
    optionalString = cond: s: if cond then s else "";
    concatMap = f: list: builtins.concatMap f list;
    concatMapStrings = f: list: concatStringsSep "" (map f list);
    concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);
    inherit concatStringsSep;
    escapeShellArg = arg: "'${replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
    escapeShellArgs = args: concatStringsSep " " (map escapeShellArg args);
    inherit mapAttrs;
    attrValues = builtins.attrValues;
    nameValuePair = name: value: { inherit name value; };
    mapAttrs' = f: attrs: listToAttrs (map (name: f name attrs.${name}) (attrNames attrs));
    genAttrs = names: f: listToAttrs (map (name: { inherit name; value = f name; }) names);
    splitString = sep: s: filter isString (builtins.split (replaceStrings [ "." ] [ "\\." ] sep) s);
    versionOlder = a: b: builtins.compareVersions a b < 0;
    unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  };

  # Store paths stand in as strings, written files as { name, text }; an attribute nixpkgs lacks
  # would only show on a real evaluation.
  pkgs = {
    writeText = name: text: {
      _type = "file";
      inherit name text;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    };
    coreutils = "/nix/store/coreutils";
    openssl = "/nix/store/openssl";
    bind = "/nix/store/bind";
    nextcloud31 = "/nix/store/nextcloud31";
    postgresql_15 = "/nix/store/postgresql-15";
    postgresql_16 = "/nix/store/postgresql-16";
    postgresql_17 = "/nix/store/postgresql-17";
  };

  recursiveUpdate =
    left: right:
    left
    // mapAttrs (
      name: value: if isAttrs value && isAttrs (left.${name} or null) then recursiveUpdate left.${name} value else value
    ) right;

in
{
  inherit lib pkgs recursiveUpdate;

  # Values for declared options: given ones type-checked, the rest from defaults.
  resolveOptions =
    declared: given:
    let
      unknown = builtins.filter (name: !(declared ? ${name})) (builtins.attrNames given);
      value =
        name: option:
        if given ? ${name} then
          if option.type.check given.${name} then
            given.${name}
          else
            throw "option ${name}: ${builtins.toJSON given.${name}} is not a ${option.type.name}"
        else if option ? default then
          option.default
        else
          throw "option ${name} has no value and no default";
    in
    if unknown != [ ] then
      throw "options ${builtins.toJSON unknown} do not exist"
    else
      builtins.mapAttrs value declared;
}
