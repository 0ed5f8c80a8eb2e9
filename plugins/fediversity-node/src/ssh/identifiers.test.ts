import { assertHostname, assertRemotePath, assertUnitName, assertUsername, assertZfsDataset } from './identifiers';
import { HOSTILE_ARGS } from './hostileArgs';

describe('identifier allow-lists', () => {
  it('accepts ordinary identifiers', () => {
    expect(assertHostname('ct-101.example.org')).toBe('ct-101.example.org');
    expect(assertHostname('127.0.0.1')).toBe('127.0.0.1');
    expect(assertHostname('::1')).toBe('::1');
    expect(assertUsername('root')).toBe('root');
    expect(assertUnitName('mastodon-web.service')).toBe('mastodon-web.service');
    expect(assertUnitName('postgresql')).toBe('postgresql');
    expect(assertZfsDataset('tank/apps/mastodon@repl-2026')).toBe('tank/apps/mastodon@repl-2026');
    expect(assertRemotePath('/var/lib/mastodon', 'path', { under: '/var/lib' })).toBe('/var/lib/mastodon');
  });

  it.each(HOSTILE_ARGS)('refuses %j as hostname, username, unit and dataset', value => {
    expect(() => assertHostname(value)).toThrow(/Invalid hostname/);
    expect(() => assertUsername(value)).toThrow(/Invalid username/);
    expect(() => assertUnitName(value)).toThrow(/Invalid unit name/);
    expect(() => assertZfsDataset(value)).toThrow(/Invalid ZFS dataset/);
  });

  it('refuses option-like and odd names', () => {
    expect(() => assertHostname('-oProxyCommand=x')).toThrow();
    expect(() => assertHostname('a..b')).toThrow();
    expect(() => assertUnitName('-.mount')).toThrow();
    expect(() => assertZfsDataset('tank/../etc')).toThrow();
    expect(() => assertZfsDataset('-tank')).toThrow();
    expect(() => assertZfsDataset('tank@a@b')).toThrow();
  });

  it('refuses paths that are relative, escape, or carry NUL/newlines', () => {
    expect(() => assertRemotePath('etc/passwd')).toThrow(/absolute/);
    expect(() => assertRemotePath('/var/lib/../../etc', 'path', { under: '/var/lib' })).toThrow(/\.\./);
    expect(() => assertRemotePath('/var/libx', 'path', { under: '/var/lib' })).toThrow(/under/);
    expect(() => assertRemotePath('/a\nb')).toThrow(/line break/);
    expect(() => assertRemotePath('/a\0b')).toThrow(/NUL/);
    expect(() => assertRemotePath('/a b', 'path', { plain: true })).toThrow(/only/);
    expect(assertRemotePath('/a b')).toBe('/a b');
  });
});
