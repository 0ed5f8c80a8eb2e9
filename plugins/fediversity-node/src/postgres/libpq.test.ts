import { libpqEnvironment, libpqKeywords, libpqSettings, passfileLine } from './libpq';

describe('libpq settings', () => {
  it('gives a client program and a connection string the same passfile and TLS', () => {
    const settings = { passfile: '/var/lib/postgresql/.fediversity_ab.pgpass', sslmode: 'verify-full' as const, sslrootcert: '/etc/fediversity/ca.crt' };
    expect(libpqEnvironment(settings)).toEqual(['PGPASSFILE=/var/lib/postgresql/.fediversity_ab.pgpass', 'PGSSLMODE=verify-full', 'PGSSLROOTCERT=/etc/fediversity/ca.crt']);
    expect(libpqKeywords(settings)).toEqual(['passfile=/var/lib/postgresql/.fediversity_ab.pgpass', 'sslmode=verify-full', 'sslrootcert=/etc/fediversity/ca.crt']);
  });

  it('takes a connection’s TLS, and its passfile where there is one', () => {
    expect(libpqSettings({ mode: 'verify-full', rootCert: '/etc/ca.crt' }, '/var/lib/postgresql/.s.pgpass')).toEqual({
      passfile: '/var/lib/postgresql/.s.pgpass',
      sslmode: 'verify-full',
      sslrootcert: '/etc/ca.crt',
    });
    expect(libpqSettings({ mode: 'prefer' })).toEqual({ sslmode: 'prefer' });
  });

  it('names the TLS mode alone where there is no password or CA', () => {
    expect(libpqEnvironment({ sslmode: 'prefer' })).toEqual(['PGSSLMODE=prefer']);
    expect(libpqKeywords({ sslmode: 'prefer' })).toEqual(['sslmode=prefer']);
  });
});

describe('passfileLine', () => {
  it('escapes the separator and the escape character in every field', () => {
    expect(passfileLine({ host: '10.0.0.1', port: 5432, user: 'replicator', password: 'a:b\\c*d' })).toBe('10.0.0.1:5432:*:replicator:a\\:b\\\\c*d');
    expect(passfileLine({ host: 'fd00::1', port: 5432, user: 'r', password: 'secret' })).toBe('fd00\\:\\:1:5432:*:r:secret');
  });

  it('refuses what a passfile line cannot hold', () => {
    expect(() => passfileLine({ host: 'h', port: 1, user: 'u', password: 'one\ntwo' })).toThrow(/line break/);
    expect(() => passfileLine({ host: 'h', port: 1, user: 'u', password: '' })).toThrow(/empty/);
  });
});
