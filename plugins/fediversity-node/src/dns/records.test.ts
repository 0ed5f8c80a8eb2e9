import { HOSTILE_ARGS } from '../ssh/hostileArgs';
import {
  normalizeRecordName,
  normalizeRecordSets,
  normalizeRecordValue,
  normalizeZone,
  txtRecordValue,
} from './records';

describe('DNS record validation', () => {
  it('normalises zones and names to absolute lower case', () => {
    expect(normalizeZone('Example.ORG')).toBe('example.org.');
    expect(normalizeRecordName('example.org', '@')).toBe('example.org.');
    expect(normalizeRecordName('example.org', 'WWW')).toBe('www.example.org.');
    expect(normalizeRecordName('example.org.', '_acme-challenge.social')).toBe('_acme-challenge.social.example.org.');
    expect(normalizeRecordName('example.org', '*.apps')).toBe('*.apps.example.org.');
    expect(normalizeRecordName('example.org', 'a.example.org.')).toBe('a.example.org.');
  });

  it('refuses names outside the zone and odd wildcards', () => {
    expect(() => normalizeRecordName('example.org', 'evil.com.')).toThrow(/not inside zone/);
    expect(() => normalizeRecordName('example.org', 'a.*')).toThrow(/bad label/);
    expect(() => normalizeRecordName('example.org', 'a..b')).toThrow(/bad label/);
  });

  it.each(HOSTILE_ARGS.filter(v => v !== ''))('refuses hostile name %j', value => {
    expect(() => normalizeRecordName('example.org', value)).toThrow();
    expect(() => normalizeZone(value)).toThrow();
  });

  it('canonicalises values per type', () => {
    expect(normalizeRecordValue('A', '192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeRecordValue('AAAA', '2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeRecordValue('CNAME', 'Host.Example.net')).toBe('host.example.net.');
    expect(normalizeRecordValue('MX', '10 mail.example.org')).toBe('10 mail.example.org.');
    expect(normalizeRecordValue('SRV', '0 5 5269 xmpp.example.org.')).toBe('0 5 5269 xmpp.example.org.');
    expect(normalizeRecordValue('CAA', '0 issue "letsencrypt.org"')).toBe('0 issue "letsencrypt.org"');
    expect(normalizeRecordValue('TXT', '"v=spf1 -all"')).toBe('"v=spf1 -all"');
  });

  it.each([
    ['A', '192.0.2.1\nupdate delete example.org. SOA'],
    ['A', '300.0.0.1'],
    ['AAAA', 'fe80::1%eth0'],
    ['CNAME', 'a b'],
    ['MX', '70000 mx.example.org'],
    ['SRV', '0 5 http xmpp.example.org'],
    ['CAA', '0 issue letsencrypt.org'],
    ['TXT', 'unquoted'],
    ['TXT', '"a" ; send'],
    ['TXT', '"ends with backslash\\"'],
    ['TXT', `"${'x'.repeat(256)}"`],
  ] as const)('refuses %s value %j', (type, value) => {
    expect(() => normalizeRecordValue(type, value)).toThrow();
  });

  it('builds TXT values that validate, whatever the text', () => {
    for (const text of [...HOSTILE_ARGS, 'x'.repeat(600), 'v=DKIM1; k=ed25519; p=abc']) {
      const value = txtRecordValue(text);
      expect(normalizeRecordValue('TXT', value)).toBe(value);
    }
    expect(txtRecordValue('say "hi" \\ ü')).toBe('"say \\"hi\\" \\\\ \\195\\188"');
    expect(txtRecordValue('x'.repeat(300)).split('" "')).toHaveLength(2);
  });

  it('checks batches: types, TTLs, CNAME exclusivity, duplicates', () => {
    const base = { name: 'www', ttl: 300, values: ['192.0.2.1'] };
    expect(() => normalizeRecordSets('example.org', [{ ...base, type: 'NS' as never }])).toThrow(/not allowed/);
    expect(() => normalizeRecordSets('example.org', [{ ...base, type: 'A', ttl: 0 }])).toThrow(/TTL/);
    expect(() => normalizeRecordSets('example.org', [{ ...base, type: 'A', values: [] }])).toThrow(/1-100 values/);
    expect(() =>
      normalizeRecordSets('example.org', [
        { ...base, type: 'A' },
        { name: 'www', type: 'CNAME', ttl: 300, values: ['x.example.net'] },
      ]),
    ).toThrow(/CNAME and other/);
    expect(() => normalizeRecordSets('example.org', [{ ...base, type: 'A' }, { ...base, type: 'A' }])).toThrow(
      /twice/,
    );
  });
});
