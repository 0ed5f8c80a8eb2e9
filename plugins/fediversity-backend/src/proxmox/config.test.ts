import { ConfigReader } from '@backstage/config';
import { JsonObject } from '@backstage/types';
import { readPveClusterConfigs } from './config';

const fingerprint = Array.from({ length: 32 }, () => 'ab').join(':');
const cluster = {
  name: 'prod',
  url: 'https://pve1.example.org:8006',
  tokenId: 'portal@pve!catalog',
  tokenSecret: 'c0ffee00-1111-4222-8333-444455556666',
  fingerprint,
};
const read = (clusters: JsonObject[]) =>
  readPveClusterConfigs(new ConfigReader({ fediversity: { proxmox: { clusters } } }));

describe('readPveClusterConfigs', () => {
  it('returns no clusters without configuration', () => {
    expect(readPveClusterConfigs(new ConfigReader({}))).toEqual([]);
  });

  it('reads several clusters and normalises fingerprints', () => {
    const caPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const result = read([cluster, { ...cluster, name: 'backup', fingerprint: undefined, caPem }]);
    expect(result.map(c => c.name)).toEqual(['prod', 'backup']);
    expect(result[0].fingerprint).toBe(fingerprint.toUpperCase());
    expect(result[1]).toMatchObject({ caPem, fingerprint: undefined });
  });

  it.each([
    [{ name: 'Prod!' }, /name must be lowercase/],
    [{ url: 'http://pve1.example.org:8006' }, /must use https/],
    [{ tokenId: 'portal' }, /USER@REALM!TOKENID/],
    [{ fingerprint: undefined }, /needs caPem or fingerprint/],
    [{ fingerprint: 'AB:CD' }, /SHA-256/],
    [{ fingerprint: undefined, caPem: 'not a pem' }, /not a PEM/],
  ])('rejects %j', (override, message) => {
    expect(() => read([{ ...cluster, ...override }])).toThrow(message);
  });

  it('rejects duplicate names and never echoes the secret', () => {
    expect(() => read([cluster, cluster])).toThrow(/used twice/);
    let message = '';
    try {
      read([{ ...cluster, tokenId: 'bad' }]);
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/tokenId/);
    expect(message).not.toContain(cluster.tokenSecret);
  });
});
