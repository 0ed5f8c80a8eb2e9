/*
 * The only `sh -c` scripts the portal runs on hosts. Their texts are fixed and every path is a positional
 * argument, so no input is ever spliced into shell text; the demo host server accepts exactly these texts.
 */

/** `$1` = file: writes stdin to a file only its owner may read (a known_hosts file for a peer). */
export const WRITE_PRIVATE_FILE_SCRIPT = 'umask 077 && cat > "$1"';

/**
 * `$1` = generation name, `$2` = temporary link, `$3` = current, `$4` = root: points `current` at the
 * generation (atomic rename of a fresh symlink), then lists the generations. One command instead of two saves
 * an SSH round trip per replication run.
 */
export const PUBLISH_GENERATION_SCRIPT =
  'ln -sfn -- "$1" "$2" && mv -T -- "$2" "$3" && exec find "$4" -mindepth 1 -maxdepth 1 -type d -name "gen-*"';

/** `$1` = an OpenSSH public key line: lets it log in as this user (added once to `~/.ssh/authorized_keys`). */
export const AUTHORISE_KEY_SCRIPT =
  'umask 077 && mkdir -p ~/.ssh && { grep -qxF -- "$1" ~/.ssh/authorized_keys 2>/dev/null || printf "%s\\n" "$1" >> ~/.ssh/authorized_keys; }';

/**
 * `$1` = a key's comment: takes every key with exactly that comment (the line's last word) out of
 * `~/.ssh/authorized_keys`, which is written anew, readable by its owner only, and renamed into place;
 * without the file there is nothing to take out. The comment reaches awk through the environment, where
 * `-v` would interpret its backslashes.
 */
export const REVOKE_KEY_SCRIPT =
  'f=~/.ssh/authorized_keys; [ -e "$f" ] || exit 0; umask 077 && c="$1" awk \'$NF != ENVIRON["c"]\' "$f" > "$f.revoking" && mv -f -- "$f.revoking" "$f"';
