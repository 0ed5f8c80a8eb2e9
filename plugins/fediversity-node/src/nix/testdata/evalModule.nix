# Test harness: evaluates one module of nix/modules against the stand-ins of stubLib.nix. It
# resolves the module's own `fediversity.apps.<app>` options from the given values, type-checked
# the way the module system would, and returns the module's config with mkIf/mkDefault/mkForce/
# mkMerge resolved. It cannot check the nixpkgs options the module sets; a full evaluation needs
# nixpkgs (nix flake check on a networked machine).
{
  module,
  app ? null,
  appOptions ? { },
  config ? { },
}:
let
  stubs = import ./stubLib.nix;
  inherit (stubs) lib pkgs recursiveUpdate resolveOptions;
  inherit (builtins) attrNames filter foldl' isAttrs isList mapAttrs;

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
