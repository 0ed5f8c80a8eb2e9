{
  description = "Fediversity: NixOS modules for the portal's app catalog, and hosts built from host descriptions";

  # A release branch: the lock file pins the commit; `nix flake update` moves it within 25.05.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs =
    { self, nixpkgs }:
    let
      appNames = import ./lib/apps.nix;
      appModules = builtins.listToAttrs (
        map (name: {
          inherit name;
          value = ./modules/apps + "/${name}.nix";
        }) appNames
      );
      nixosModules = appModules // {
        common = ./modules/common.nix;
        # Everything a portal host imports; each app stays off until fediversity.apps.<app>.enable.
        default = {
          imports = [ ./modules/common.nix ] ++ builtins.attrValues appModules;
        };
      };
      mkHost = import ./lib/mkHost.nix {
        inherit nixpkgs;
        modules = nixosModules;
      };
    in
    {
      inherit nixosModules;
      lib = {
        inherit mkHost;
        hostSettings = import ./lib/hostSettings.nix;
        readHostDescription = import ./lib/readHostDescription.nix;
      };
      # One configuration per hosts/<hostname>.json (or .nix) the portal uploaded next to this file.
      nixosConfigurations = builtins.mapAttrs (hostname: description: mkHost description) (
        import ./lib/hostDirectory.nix ./hosts
      );
    };
}
