import { mockServices } from '@backstage/backend-test-utils';
import { readMigrationDns } from './dnsConfig';

describe('readMigrationDns', () => {
  it('answers for a configured zone by name, with or without its trailing dot, and for no other', () => {
    const lookup = readMigrationDns(
      mockServices.rootConfig({
        data: { fediversity: { dns: { provider: 'powerdns', zones: ['Example.org.'], powerdns: { baseUrl: 'http://127.0.0.1:8081', apiKey: 'k' } } } },
      }),
    );
    expect(lookup?.('example.org')).toBeDefined();
    expect(lookup?.('example.org.')).toBe(lookup?.('example.org'));
    expect(lookup?.('sub.example.org')).toBeUndefined();
    expect(lookup?.('other.test')).toBeUndefined();
  });

  it('is undefined without fediversity.dns', () => {
    expect(readMigrationDns(mockServices.rootConfig({ data: {} }))).toBeUndefined();
  });
});
