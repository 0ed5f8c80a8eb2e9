import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkTargetFrom, listDataDirectoryLinksArgv, parseDataDirectoryLinks, restoreDataDirectoryLinksArgv } from './dataDirectoryLinks';

const run = (argv: string[]) => execFileSync(argv[0], argv.slice(1)).toString();

describe('data directory links', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fediversity-links-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the links a base backup skips, and makes them again in a copy where it has nothing by that name', () => {
    const primary = join(dir, 'primary');
    const copy = join(dir, 'copy');
    mkdirSync(join(primary, 'base'), { recursive: true });
    mkdirSync(copy);
    writeFileSync(join(dir, 'store-postgresql.conf'), 'port = 5432\n');
    symlinkSync(join(dir, 'store-postgresql.conf'), join(primary, 'postgresql.conf'));
    symlinkSync('../shared/pg_ident.conf', join(primary, 'pg_ident.conf'));
    symlinkSync('/var/lib/wal', join(primary, 'pg_wal'));
    symlinkSync('/etc/odd target', join(primary, '-odd name\nwith a line'));
    symlinkSync('/etc/auto.conf', join(primary, 'postgresql.auto.conf'));
    writeFileSync(join(primary, 'PG_VERSION'), '15\n');
    // What pg_basebackup -R wrote in the copy stays as it is.
    writeFileSync(join(copy, 'postgresql.auto.conf'), "primary_conninfo = '…'\n");

    const links = parseDataDirectoryLinks(run(listDataDirectoryLinksArgv(primary)));
    expect(links.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: '-odd name\nwith a line', target: '/etc/odd target' },
      { name: 'pg_ident.conf', target: '../shared/pg_ident.conf' },
      { name: 'postgresql.auto.conf', target: '/etc/auto.conf' },
      { name: 'postgresql.conf', target: join(dir, 'store-postgresql.conf') },
    ]);
    expect(linkTargetFrom(copy, links.find(link => link.name === 'pg_ident.conf')!)).toBe(join(dir, 'shared/pg_ident.conf'));

    const made = run(restoreDataDirectoryLinksArgv(copy, links)).split('\0').filter(Boolean).sort();
    expect(made).toEqual(['-odd name\nwith a line', 'pg_ident.conf', 'postgresql.conf']);
    expect(readlinkSync(join(copy, 'postgresql.conf'))).toBe(join(dir, 'store-postgresql.conf'));
    expect(readlinkSync(join(copy, 'pg_ident.conf'))).toBe('../shared/pg_ident.conf');
    expect(readlinkSync(join(copy, '-odd name\nwith a line'))).toBe('/etc/odd target');
    expect(lstatSync(join(copy, 'postgresql.auto.conf')).isSymbolicLink()).toBe(false);
    expect(existsSync(join(copy, 'pg_wal'))).toBe(false);

    // Again (a rerun): nothing more to make, nothing replaced.
    expect(run(restoreDataDirectoryLinksArgv(copy, links))).toBe('');
    expect(readdirSync(copy).sort()).toEqual(['-odd name\nwith a line', 'pg_ident.conf', 'postgresql.auto.conf', 'postgresql.conf']);
  });

  it('finds none in a data directory without links', () => {
    mkdirSync(join(dir, 'base'));
    expect(parseDataDirectoryLinks(run(listDataDirectoryLinksArgv(dir)))).toEqual([]);
    expect(parseDataDirectoryLinks('')).toEqual([]);
  });
});
