import { posix } from 'node:path';

/**
 * A base backup sends a data directory's symlinks only for pg_wal and the tablespaces: any other (NixOS
 * links postgresql.conf into the Nix store) it skips with a warning ("skipping special file"), so the copy
 * lacks the file and a standby made from it does not start. These helpers list such links on the primary
 * and make them again in the copy, with the same link text, as a file-level copy would have kept them.
 */
export interface DataDirectoryLink {
  /** The entry's name in the data directory. */
  name: string;
  /** What it points at, as written (absolute, or relative to the data directory). */
  target: string;
}

/** Lists the data directory's top-level symlinks as name/target pairs, each NUL-terminated (parseDataDirectoryLinks). */
export function listDataDirectoryLinksArgv(dataDir: string): string[] {
  return ['find', dataDir, '-mindepth', '1', '-maxdepth', '1', '-type', 'l', '-printf', '%f\\0%l\\0'];
}

/** The links a base backup skips: every top-level one but pg_wal (sent as a directory) and empty names. */
export function parseDataDirectoryLinks(stdout: string): DataDirectoryLink[] {
  const words = stdout.split('\0');
  const links: DataDirectoryLink[] = [];
  for (let index = 0; index + 1 < words.length; index += 2) {
    const [name, target] = [words[index], words[index + 1]];
    if (name && target && name !== 'pg_wal' && !name.includes('/')) links.push({ name, target });
  }
  return links;
}

/** Where a link's target is on the copy's host: a relative link is followed from the copy's data directory. */
export function linkTargetFrom(dataDir: string, link: DataDirectoryLink): string {
  return link.target.startsWith('/') ? link.target : posix.join(dataDir, link.target);
}

/**
 * `$1` = the copy's data directory, then name/target pairs: makes each link where the copy has nothing by
 * that name (pg_basebackup -R writes its own postgresql.auto.conf, which stays), printing the names it made,
 * NUL-terminated.
 */
export const LINK_WHERE_ABSENT_SCRIPT =
  'cd -- "$1" && shift && while [ "$#" -ge 2 ]; do if [ ! -e "$1" ] && [ ! -L "$1" ]; then ln -s -- "$2" "./$1" && printf "%s\\0" "$1" || exit; fi; shift 2; done';

/** The argv for LINK_WHERE_ABSENT_SCRIPT; its output parses with `split('\0')`. */
export function restoreDataDirectoryLinksArgv(dataDir: string, links: DataDirectoryLink[]): string[] {
  return ['sh', '-c', LINK_WHERE_ABSENT_SCRIPT, 'sh', dataDir, ...links.flatMap(link => [link.name, link.target])];
}
