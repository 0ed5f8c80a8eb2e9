import { HOSTILE_ARGS } from '../ssh/hostileArgs';
import { PowerDnsProvider } from './PowerDnsProvider';
import { txtRecordValue } from './records';
import { digAnswer } from './testing/startDaemon';
import { startTestPowerDns, type TestPowerDns } from './testing/testPowerDns';

// Real servers on a shared 2-core machine: allow for load, not for hangs.
jest.setTimeout(30_000);

describe('PowerDnsProvider against a real PowerDNS Authoritative server on loopback', () => {
  let pdns: TestPowerDns | undefined;
  let provider: PowerDnsProvider;

  beforeAll(async () => {
    const started = await startTestPowerDns('example.test');
    if (typeof started === 'string') {
      // eslint-disable-next-line no-console
      console.warn(`Skipping PowerDNS server tests: ${started}`);
      return;
    }
    pdns = started;
    provider = new PowerDnsProvider({ baseUrl: pdns.apiUrl, apiKey: pdns.apiKey });
  }, 30_000);

  afterAll(async () => {
    await pdns?.stop();
  });

  it('upserts, lists and deletes record sets, answered over DNS', async () => {
    if (!pdns) return;
    await provider.upsertRecords('example.test', [
      { name: 'social', type: 'A', ttl: 300, values: ['192.0.2.10', '192.0.2.11'] },
      { name: 'social', type: 'AAAA', ttl: 300, values: ['2001:db8::10'] },
      { name: 'www', type: 'CNAME', ttl: 300, values: ['social.example.test'] },
      { name: '@', type: 'MX', ttl: 300, values: ['10 mail.example.test'] },
      { name: '_xmpp-server._tcp', type: 'SRV', ttl: 300, values: ['0 5 5269 social.example.test.'] },
      { name: '@', type: 'CAA', ttl: 300, values: ['0 issue "letsencrypt.org"'] },
      { name: 'txt', type: 'TXT', ttl: 300, values: [txtRecordValue('v=spf1 -all; "quoted" $(id)')] },
    ]);
    expect(await digAnswer(pdns.dnsPort, 'social.example.test', 'A')).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(await digAnswer(pdns.dnsPort, 'www.example.test', 'CNAME')).toEqual(['social.example.test.']);
    expect(await digAnswer(pdns.dnsPort, 'example.test', 'MX')).toEqual(['10 mail.example.test.']);
    expect(await digAnswer(pdns.dnsPort, '_xmpp-server._tcp.example.test', 'SRV')).toEqual([
      '0 5 5269 social.example.test.',
    ]);
    expect(await digAnswer(pdns.dnsPort, 'example.test', 'CAA')).toEqual(['0 issue "letsencrypt.org"']);
    expect(await digAnswer(pdns.dnsPort, 'txt.example.test', 'TXT')).toEqual(['"v=spf1 -all; \\"quoted\\" $(id)"']);

    await provider.upsertRecords('example.test', [{ name: 'social', type: 'A', ttl: 60, values: ['192.0.2.99'] }]);
    expect(await digAnswer(pdns.dnsPort, 'social.example.test', 'A')).toEqual(['192.0.2.99']);
    const listed = await provider.listRecords('example.test', 'social');
    expect(listed.sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { name: 'social.example.test.', type: 'A', ttl: 60, values: ['192.0.2.99'] },
      { name: 'social.example.test.', type: 'AAAA', ttl: 300, values: ['2001:db8::10'] },
    ]);

    await provider.deleteRecords('example.test', [{ name: 'social', type: 'A' }]);
    expect(await digAnswer(pdns.dnsPort, 'social.example.test', 'A')).toEqual([]);
    await provider.deleteRecords('example.test', [{ name: 'social', type: 'A' }]);
  }, 30_000);

  it('reports a wrong API key and an unknown zone clearly', async () => {
    if (!pdns) return;
    const wrongKey = new PowerDnsProvider({ baseUrl: pdns.apiUrl, apiKey: 'not-the-key' });
    await expect(
      wrongKey.upsertRecords('example.test', [{ name: 'x', type: 'A', ttl: 60, values: ['192.0.2.1'] }]),
    ).rejects.toMatchObject({ name: 'NotAllowedError', message: expect.stringMatching(/API key was refused/) });
    await expect(
      provider.upsertRecords('other.test', [{ name: 'x', type: 'A', ttl: 60, values: ['192.0.2.1'] }]),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
  }, 30_000);
});

describe('PowerDnsProvider requests', () => {
  it('sends one PATCH with REPLACE rrsets and the key only in X-API-Key', async () => {
    const requests: Array<{ url: string; init: RequestInit }> = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      requests.push({ url, init });
      return new Response(null, { status: 204 });
    }) as unknown as typeof fetch;
    const provider = new PowerDnsProvider({ baseUrl: 'http://127.0.0.1:8081/', apiKey: 'secret-key', fetch: fakeFetch });
    await provider.upsertRecords('Example.Test', [{ name: 'www', type: 'A', ttl: 120, values: ['192.0.2.1'] }]);
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe('http://127.0.0.1:8081/api/v1/servers/localhost/zones/example.test.');
    expect(requests[0].init.method).toBe('PATCH');
    expect((requests[0].init.headers as Record<string, string>)['X-API-Key']).toBe('secret-key');
    expect(JSON.parse(requests[0].init.body as string)).toEqual({
      rrsets: [
        {
          name: 'www.example.test.',
          type: 'A',
          ttl: 120,
          changetype: 'REPLACE',
          records: [{ content: '192.0.2.1', disabled: false }],
        },
      ],
    });
  });

  it('rejects hostile input before any request', async () => {
    let called = 0;
    const fakeFetch = (async () => {
      called++;
      return new Response(null, { status: 204 });
    }) as unknown as typeof fetch;
    const provider = new PowerDnsProvider({ baseUrl: 'http://127.0.0.1:8081', apiKey: 'k', fetch: fakeFetch });
    for (const value of HOSTILE_ARGS.filter(v => v !== '')) {
      await expect(provider.upsertRecords('example.test', [{ name: value, type: 'A', ttl: 1, values: ['192.0.2.1'] }])).rejects.toThrow();
      await expect(provider.upsertRecords(value, [{ name: 'a', type: 'A', ttl: 1, values: ['192.0.2.1'] }])).rejects.toThrow();
      await expect(provider.upsertRecords('example.test', [{ name: 'a', type: 'CNAME', ttl: 1, values: [value] }])).rejects.toThrow();
      await expect(provider.deleteRecords('example.test', [{ name: value, type: 'A' }])).rejects.toThrow();
    }
    expect(() => new PowerDnsProvider({ baseUrl: 'http://x', apiKey: 'k', serverId: '../admin' })).toThrow(/server id/);
    expect(called).toBe(0);
  });
});
