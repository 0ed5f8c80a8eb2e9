# Secrets generated on the host, never in the Nix store: a oneshot unit creates each missing file
# from fresh randomness before the units that need it start, and never rewrites an existing one
# (a restored or migrated host keeps its secrets).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.fediversity.secrets;
  esc = lib.escapeShellArg;

  secretOptions = {
    options = {
      path = mkOption {
        type = types.strMatching "/var/lib/[A-Za-z0-9._-]+/secrets/[A-Za-z0-9._-]+";
        description = "Where the file is created: /var/lib/<app>/secrets/<name>.";
      };
      owner = mkOption {
        type = types.str;
        default = "root";
      };
      group = mkOption {
        type = types.str;
        default = "root";
      };
      mode = mkOption {
        type = types.strMatching "0[0-7]{3}";
        default = "0400";
      };
      encoding = mkOption {
        type = types.enum [
          "hex"
          "base64"
        ];
        default = "hex";
      };
      bytes = mkOption {
        type = types.ints.between 16 128;
        default = 32;
        description = "Random bytes before encoding.";
      };
      prefix = mkOption {
        type = types.str;
        default = "";
        description = "Text before the random value, e.g. `APP_KEY=base64:` for an env file.";
      };
      suffix = mkOption {
        type = types.str;
        default = "";
      };
      requiredBy = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Units that must not start before the file exists.";
      };
    };
  };

  random =
    secret:
    if secret.encoding == "hex" then
      "openssl rand -hex ${toString secret.bytes}"
    else
      "openssl rand ${toString secret.bytes} | base64 -w0";

  generate = secret: ''
    if [ ! -s ${esc secret.path} ]; then
      # The app's state dir may not exist yet: create it as the app would, not root-only (UMask).
      [ -d ${esc (dirOf (dirOf secret.path))} ] \
        || install -d -m 0750 -o ${esc secret.owner} -g ${esc secret.group} ${esc (dirOf (dirOf secret.path))}
      install -d -m 0750 -o ${esc secret.owner} -g ${esc secret.group} ${esc (dirOf secret.path)}
      tmp=$(mktemp ${esc "${secret.path}.XXXXXX"})
      value=$(${random secret})
      printf '%s%s%s\n' ${esc secret.prefix} "$value" ${esc secret.suffix} > "$tmp"
      chown ${esc "${secret.owner}:${secret.group}"} "$tmp"
      chmod ${secret.mode} "$tmp"
      mv "$tmp" ${esc secret.path}
    fi
  '';

  dependents = lib.unique (lib.concatMap (secret: secret.requiredBy) (lib.attrValues cfg));
in
{
  options.fediversity.secrets = mkOption {
    type = types.attrsOf (types.submodule secretOptions);
    default = { };
    description = "Secret files to generate on the host.";
  };

  config = lib.mkIf (cfg != { }) {
    systemd.services.fediversity-secrets = {
      description = "Generate missing Fediversity secrets on the host";
      wantedBy = [ "multi-user.target" ];
      before = dependents;
      requiredBy = dependents;
      path = [
        pkgs.coreutils
        pkgs.openssl
      ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
      };
      script = ''
        set -euo pipefail
        ${lib.concatMapStrings generate (lib.attrValues cfg)}
      '';
    };
  };
}
