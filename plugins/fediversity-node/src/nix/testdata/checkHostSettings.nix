# Test harness: checks what lib/hostSettings.nix makes of a description against the options
# modules/options.nix and the app module declare, with the stand-in option types of stubLib.nix.
# Returns the checked `fediversity` values; throws on an undeclared option or a wrongly typed value.
{
  nixDir,
  description,
}:
let
  stubs = import ./stubLib.nix;
  inherit (stubs) lib pkgs resolveOptions;
  settings = import (nixDir + "/lib/hostSettings.nix") description;
  moduleArgs = {
    config = { };
    inherit lib pkgs;
  };
  declared = (import (nixDir + "/modules/options.nix") moduleArgs).options.fediversity;
  appDeclared =
    (import (nixDir + "/modules/apps/${description.app}.nix") moduleArgs).options.fediversity.apps.${description.app};

  isOption = value: (value._type or null) == "option";
  # Walks declarations and values together; leaves are type-checked by resolveOptions.
  check =
    declarations: values:
    let
      leaves = lib.genAttrs (builtins.filter (name: isOption declarations.${name}) (builtins.attrNames declarations)) (
        name: declarations.${name}
      );
      groups = builtins.filter (name: !(isOption declarations.${name})) (builtins.attrNames declarations);
      givenLeaves = removeAttrs values groups;
      checkedLeaves = resolveOptions leaves givenLeaves;
    in
    checkedLeaves // lib.genAttrs groups (name: check declarations.${name} (values.${name} or { }));
in
{
  fediversity = check declared (removeAttrs settings.fediversity [ "apps" ]);
  app = resolveOptions appDeclared settings.fediversity.apps.${description.app};
}
