import { mockServices } from '@backstage/backend-test-utils';
import { PowerDnsProvider } from './PowerDnsProvider';
import { Rfc2136DnsProvider } from './Rfc2136DnsProvider';
import { readDnsConfig, zoneOf } from './config';

const read = (dns?: object) => readDnsConfig(mockServices.rootConfig({ data: dns ? { fediversity: { dns } } : {} }));

describe('readDnsConfig', () => {
  it('is undefined without fediversity.dns', () => {
    expect(read()).toBeUndefined();
  });

  it('builds an RFC 2136 provider, zones normalised and most specific first', () => {
    const setup = read({
      provider: 'rfc2136',
      zones: ['Example.ORG.', 'sub.example.org'],
      rfc2136: { server: '127.0.0.1', port: 5353, tsig: { name: 'portal', secret: 'cG9ydGFsLXRzaWctc2VjcmV0' } },
    });
    expect(setup).toMatchObject({ kind: 'rfc2136', zones: ['sub.example.org', 'example.org'], ttl: 300 });
    expect(setup?.provider).toBeInstanceOf(Rfc2136DnsProvider);
  });

  it('builds a PowerDNS provider with its TTL', () => {
    const setup = read({ provider: 'powerdns', zones: ['pdns.test'], ttl: 60, powerdns: { baseUrl: 'http://127.0.0.1:8081', apiKey: 'k' } });
    expect(setup).toMatchObject({ kind: 'powerdns', zones: ['pdns.test'], ttl: 60 });
    expect(setup?.provider).toBeInstanceOf(PowerDnsProvider);
  });

  it('names the key that is wrong and never echoes the secret', () => {
    expect(() => read({ provider: 'route53', zones: ['a.test'] })).toThrow(/fediversity.dns.provider must be rfc2136 or powerdns/);
    expect(() => read({ provider: 'powerdns', zones: [] })).toThrow(/at least one zone/);
    const badAlgorithm = () =>
      read({ provider: 'rfc2136', zones: ['a.test'], rfc2136: { server: '127.0.0.1', tsig: { name: 'k', algorithm: 'hmac-md5', secret: 'dG9wc2VjcmV0' } } });
    expect(badAlgorithm).toThrow(/tsig.algorithm must be one of hmac-sha256/);
    expect(badAlgorithm).not.toThrow(/dG9wc2VjcmV0/);
    expect(() => read({ provider: 'powerdns', zones: ['bad zone'] })).toThrow();
  });
});

describe('zoneOf', () => {
  it('finds the most specific configured zone of a domain, and no zone for a lookalike', () => {
    const zones = ['sub.example.org', 'example.org'];
    expect(zoneOf('social.sub.example.org', zones)).toBe('sub.example.org');
    expect(zoneOf('example.org', zones)).toBe('example.org');
    expect(zoneOf('notexample.org', zones)).toBeUndefined();
  });
});
