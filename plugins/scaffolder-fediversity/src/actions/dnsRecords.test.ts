import { ConfigReader } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  readDnsConfig,
  Rfc2136DnsProvider,
  startTestNamed,
  startTestPowerDns,
  TestNamed,
  TestPowerDns,
} from '@fediversity/plugin-fediversity-node';
import { actionContext, outputsOf } from '../__testUtils__/actionContext';
import { MemoryCheckpointStore } from '../__testUtils__/checkpointStore';
import { FediversityActionDeps } from './deps';
import { createDnsRecordsAction, DNS_SKIPPED } from './dnsRecords';

jest.setTimeout(60_000);

let named: TestNamed | string;
let pdns: TestPowerDns | string;
beforeAll(async () => {
  [named, pdns] = await Promise.all([startTestNamed('fedi.test'), startTestPowerDns('pdns.test')]);
});
afterAll(async () => {
  if (typeof named !== 'string') await named.stop();
  if (typeof pdns !== 'string') await pdns.stop();
});

function deps(dns: FediversityActionDeps['dns']): FediversityActionDeps {
  return {
    clusters: { list: () => [], get: jest.fn() },
    guestAccess: { clientKey: jest.fn(), prepare: jest.fn() },
    dns,
    backend: { registerInstance: jest.fn(), enqueueJob: jest.fn(), createSchedule: jest.fn(), listSchedules: jest.fn() },
    catalog: { getEntityByRef: jest.fn(async () => ({}) as any) },
    flakeFiles: async () => [],
  };
}

function rfc2136(server: TestNamed) {
  return readDnsConfig(
    new ConfigReader({
      fediversity: {
        dns: {
          provider: 'rfc2136',
          zones: ['fedi.test', 'sub.fedi.test'],
          ttl: 120,
          rfc2136: { server: '127.0.0.1', port: server.port, tsig: { ...server.tsig } },
        },
      },
    }),
  )!;
}

describe('fediversity:dns:records', () => {
  it('writes A and AAAA records over RFC 2136 with TSIG, once per task', async () => {
    if (typeof named === 'string') {
      console.warn(`skipped: ${named}`);
      return;
    }
    const setup = rfc2136(named);
    const store = new MemoryCheckpointStore();
    const input = { domain: 'social.fedi.test', ipv4: '192.0.2.10', ipv6: '2001:db8::10' };
    const ctx = actionContext(input, store);
    await createDnsRecordsAction(deps(setup)).handler(ctx);
    expect(outputsOf(ctx)).toMatchObject({ status: 'updated', zone: 'fedi.test' });

    const records = await (setup.provider as Rfc2136DnsProvider).listRecords('fedi.test', 'social');
    expect(records).toEqual(
      expect.arrayContaining([
        { name: 'social.fedi.test.', type: 'A', ttl: 120, values: ['192.0.2.10'] },
        { name: 'social.fedi.test.', type: 'AAAA', ttl: 120, values: ['2001:db8::10'] },
      ]),
    );

    // Replay: recorded, not sent again (a spy on the provider proves it).
    const upsert = jest.spyOn(setup.provider, 'upsertRecords');
    await createDnsRecordsAction(deps(setup)).handler(actionContext(input, store));
    expect(upsert).not.toHaveBeenCalled();
  });

  it('picks the most specific managed zone and refuses domains outside them', async () => {
    if (typeof named === 'string') {
      console.warn(`skipped: ${named}`);
      return;
    }
    const setup = rfc2136(named);
    const dry = actionContext({ domain: 'a.sub.fedi.test', ipv4: '192.0.2.11' }, new MemoryCheckpointStore(), { isDryRun: true });
    await createDnsRecordsAction(deps(setup)).handler(dry);
    expect(outputsOf(dry)).toMatchObject({ status: 'dry-run', zone: 'sub.fedi.test', records: [expect.objectContaining({ name: 'a' })] });
    expect(await (setup.provider as Rfc2136DnsProvider).listRecords('fedi.test', 'a.sub')).toEqual([]);

    const outside = actionContext({ domain: 'social.example.org', ipv4: '192.0.2.12' }, new MemoryCheckpointStore());
    await expect(createDnsRecordsAction(deps(setup)).handler(outside)).rejects.toThrow(
      new InputError('domain: social.example.org is in none of the zones the portal manages (sub.fedi.test, fedi.test)'),
    );
  });

  it('fails clearly when the TSIG key is wrong', async () => {
    if (typeof named === 'string') {
      console.warn(`skipped: ${named}`);
      return;
    }
    const setup = readDnsConfig(
      new ConfigReader({
        fediversity: {
          dns: {
            provider: 'rfc2136',
            zones: ['fedi.test'],
            rfc2136: { server: '127.0.0.1', port: named.port, tsig: { ...named.tsig, secret: Buffer.alloc(32, 7).toString('base64') } },
          },
        },
      }),
    );
    const ctx = actionContext({ domain: 'x.fedi.test', ipv4: '192.0.2.13' }, new MemoryCheckpointStore());
    await expect(createDnsRecordsAction(deps(setup)).handler(ctx)).rejects.toThrow(/rejected the TSIG key/);
  });

  it('writes through the PowerDNS HTTP API', async () => {
    if (typeof pdns === 'string') {
      console.warn(`skipped: ${pdns}`);
      return;
    }
    const setup = readDnsConfig(
      new ConfigReader({
        fediversity: { dns: { provider: 'powerdns', zones: ['pdns.test'], powerdns: { baseUrl: pdns.apiUrl, apiKey: pdns.apiKey } } },
      }),
    )!;
    const ctx = actionContext({ domain: 'pdns.test', ipv4: '192.0.2.20' }, new MemoryCheckpointStore());
    await createDnsRecordsAction(deps(setup)).handler(ctx);
    expect(outputsOf(ctx)).toMatchObject({ status: 'updated', records: [expect.objectContaining({ name: '@' })] });
    expect(await setup.provider.listRecords!('pdns.test', '@')).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'A', values: ['192.0.2.20'] })]),
    );
  });

  it('without a provider (the embedded default) records and reports that DNS was skipped', async () => {
    const store = new MemoryCheckpointStore();
    const ctx = actionContext({ domain: 'social.example.org', ipv4: '10.10.0.5' }, store);
    await createDnsRecordsAction(deps(undefined)).handler(ctx);
    expect(outputsOf(ctx)).toEqual({ status: 'skipped', records: [], reason: DNS_SKIPPED });
    expect(store.states.get('dns.social.example.org.skipped')).toEqual({ status: 'success', value: { reason: DNS_SKIPPED } });
    expect(ctx.logger.warn).toHaveBeenCalledWith(expect.stringContaining(DNS_SKIPPED));
  });
});
