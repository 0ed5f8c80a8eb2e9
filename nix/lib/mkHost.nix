# Builds a host's NixOS system from its description: a path to hosts/<name>.json (or .nix), or the
# already-read attribute set. The only host-specific input is that description.
{ nixpkgs, modules }:
description:
let
  read = if builtins.isAttrs description then description else import ./readHostDescription.nix description;
in
nixpkgs.lib.nixosSystem {
  # Only the host's own app module: an option another app sets that this nixpkgs lacks cannot
  # break this host's evaluation.
  modules = [
    modules.common
    modules.${read.app}
    (import ./hostSettings.nix read)
    # Proxmox LXC guests of the portal are x86_64; the description has no say in it.
    { nixpkgs.hostPlatform = "x86_64-linux"; }
  ];
}
