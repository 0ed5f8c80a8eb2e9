# Reads a host description the portal rendered: hosts/<name>.json (preferred, read as data by
# builtins.fromJSON) or hosts/<name>.nix (an attribute set literal whose strings the portal escaped).
path:
let
  name = baseNameOf (toString path);
in
if builtins.match ".*\\.json" name != null then
  builtins.fromJSON (builtins.readFile path)
else if builtins.match ".*\\.nix" name != null then
  import path
else
  throw "host description ${name}: expected a .json or .nix file"
