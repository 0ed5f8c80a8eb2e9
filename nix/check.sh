#!/bin/sh
# Syntax check of every .nix file under this directory with nix-instantiate (Debian's nix-bin works).
set -eu
cd "$(dirname "$0")"
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
count=0
find . -name '*.nix' -type f | sort > "$state/files"
while IFS= read -r file; do
  NIX_STATE_DIR="$state/nix" HOME="$state" nix-instantiate --parse "$file" > /dev/null 2> "$state/err" || {
    grep -v "build-users-group' does not exist" "$state/err" >&2
    echo "nix/check.sh: $file does not parse" >&2
    exit 1
  }
  count=$((count + 1))
done < "$state/files"
echo "nix/check.sh: $count files parse"
