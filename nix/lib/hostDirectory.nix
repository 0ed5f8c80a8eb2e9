# The host descriptions in a directory (hosts/<hostname>.json or .nix), as { <hostname> = description; }.
# A file whose name is not a hostname is ignored; a hostname given twice, or a description whose
# hostname differs from its file name, is an error.
dir:
let
  readHostDescription = import ./readHostDescription.nix;
  entries = if builtins.pathExists dir then builtins.readDir dir else { };
  hostOf = file: builtins.match "([a-z]([a-z0-9-]{0,61}[a-z0-9])?)\\.(json|nix)" file;
  files = builtins.filter (file: entries.${file} == "regular" && hostOf file != null) (
    builtins.attrNames entries
  );
  hostnames = map (file: builtins.head (hostOf file)) files;
  duplicates = builtins.filter (
    hostname: builtins.length (builtins.filter (other: other == hostname) hostnames) > 1
  ) hostnames;
  describe =
    file:
    let
      hostname = builtins.head (hostOf file);
      description = readHostDescription (dir + "/${file}");
    in
    if (description.hostname or null) == hostname then
      {
        name = hostname;
        value = description;
      }
    else
      throw "host description ${file}: its hostname field must be ${builtins.toJSON hostname}";
in
if duplicates != [ ] then
  throw "host descriptions given twice (.json and .nix): ${builtins.toJSON duplicates}"
else
  builtins.listToAttrs (map describe files)
