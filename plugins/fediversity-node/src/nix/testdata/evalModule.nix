# Test harness: evaluates one module of nix/modules against a small stand-in for nixpkgs' `lib`,
# written for these tests (no nixpkgs code). It resolves the module's own `fediversity.apps.<app>`
# options from the given values, type-checked the way the module system would, and returns the
# module's config with mkIf/mkDefault/mkForce/mkMerge resolved. It cannot check the nixpkgs options
# the module sets; a full evaluation needs nixpkgs (nix flake check on a networked machine).
{
  module,
  app ? null,
  appOptions ? { },
  config ? { },
}:
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

  # Values for the module's own options: given ones type-checked, the rest from defaults.
  resolveOptions =
    declared: given:
    let
      unknown = filter (name: !(declared ? ${name})) (attrNames given);
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
    if unknown != [ ] then throw "options ${builtins.toJSON unknown} do not exist" else mapAttrs value declared;

  evaluated = import module {
    config = fullConfig;
    inherit lib pkgs;
    modulesPath = "/modules";
  };
  fullConfig =
    if app == null then
      config
    else
      recursiveUpdate config {
        fediversity.apps.${app} = resolveOptions evaluated.options.fediversity.apps.${app} appOptions;
      };

  # mkIf/mkOverride/mkMerge/mkAfter resolved; false conditions removed.
  resolve =
    value:
    if isAttrs value then
      if (value._type or null) == "file" then
        { inherit (value) name text; }
      else if (value._type or null) == "if" then
        (if value.condition then resolve value.content else null)
      else if (value._type or null) == "override" || (value._type or null) == "order" then
        resolve value.content
      else if (value._type or null) == "merge" then
        foldl' recursiveUpdate { } (filter (v: v != null) (map resolve value.contents))
      else
        let
          resolved = mapAttrs (_: resolve) value;
        in
        removeAttrs resolved (filter (name: resolved.${name} == null && value.${name} != null) (attrNames resolved))
    else if isList value then
      map resolve value
    else
      value;
in
{
  config = resolve (evaluated.config or { });
  appOptions = if app == null then null else fullConfig.fediversity.apps.${app};
  imports = map toString (evaluated.imports or [ ]);
}
