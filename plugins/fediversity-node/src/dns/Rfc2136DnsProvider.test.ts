import { HOSTILE_ARGS } from '../ssh/hostileArgs';
import { Rfc2136DnsProvider } from './Rfc2136DnsProvider';
import { txtRecordValue } from './records';
import type { ProcessRunner } from './runProcess';
import { digAnswer } from './testing/startDaemon';
import { startTestNamed, type TestNamed } from './testing/testNamed';

// Real servers on a shared 2-core machine: allow for load, not for hangs.
jest.setTimeout(30_000);

describe('Rfc2136DnsProvider against a real BIND named on loopback', () => {
  let named: TestNamed | undefined;
  let provider: Rfc2136DnsProvider;

  beforeAll(async () => {
    const started = await startTestNamed('example.test');
    if (typeof started === 'string') {
      // eslint-disable-next-line no-console
      console.warn(`Skipping named tests: ${started}`);
      return;
    }
    named = started;
    provider = new Rfc2136DnsProvider({ server: '127.0.0.1', port: named.port, tsig: named.tsig });
  }, 30_000);

  afterAll(async () => {
    await named?.stop();
  });

  it('upserts record sets of every allowed type, replacing earlier values', async () => {
    if (!named) return;
    await provider.upsertRecords('example.test', [
      { name: 'social', type: 'A', ttl: 300, values: ['192.0.2.10', '192.0.2.11'] },
      { name: 'social', type: 'AAAA', ttl: 300, values: ['2001:db8::10'] },
      { name: 'www', type: 'CNAME', ttl: 300, values: ['social.example.test'] },
      // BIND refuses an MX whose in-zone target has no address, so the target comes first.
      { name: 'mail', type: 'A', ttl: 300, values: ['192.0.2.25'] },
      { name: '@', type: 'MX', ttl: 300, values: ['10 mail.example.test'] },
      { name: '_xmpp-server._tcp', type: 'SRV', ttl: 300, values: ['0 5 5269 social.example.test.'] },
      { name: '@', type: 'CAA', ttl: 300, values: ['0 issue "letsencrypt.org"'] },
      { name: 'txt', type: 'TXT', ttl: 300, values: [txtRecordValue('v=spf1 -all; "quoted" $(id)')] },
    ]);
    expect(await digAnswer(named.port, 'social.example.test', 'A')).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(await digAnswer(named.port, 'social.example.test', 'AAAA')).toEqual(['2001:db8::10']);
    expect(await digAnswer(named.port, 'www.example.test', 'CNAME')).toEqual(['social.example.test.']);
    expect(await digAnswer(named.port, 'example.test', 'MX')).toEqual(['10 mail.example.test.']);
    expect(await digAnswer(named.port, '_xmpp-server._tcp.example.test', 'SRV')).toEqual([
      '0 5 5269 social.example.test.',
    ]);
    expect(await digAnswer(named.port, 'example.test', 'CAA')).toEqual(['0 issue "letsencrypt.org"']);
    expect(await digAnswer(named.port, 'txt.example.test', 'TXT')).toEqual(['"v=spf1 -all; \\"quoted\\" $(id)"']);

    await provider.upsertRecords('example.test', [{ name: 'social', type: 'A', ttl: 60, values: ['192.0.2.99'] }]);
    expect(await digAnswer(named.port, 'social.example.test', 'A')).toEqual(['192.0.2.99']);
    expect(await provider.listRecords('example.test', 'social')).toEqual([
      { name: 'social.example.test.', type: 'A', ttl: 60, values: ['192.0.2.99'] },
      { name: 'social.example.test.', type: 'AAAA', ttl: 300, values: ['2001:db8::10'] },
    ]);
  }, 30_000);

  it('deletes record sets, and deleting an absent one is not an error', async () => {
    if (!named) return;
    await provider.upsertRecords('example.test', [{ name: 'gone', type: 'A', ttl: 300, values: ['192.0.2.5'] }]);
    expect(await digAnswer(named.port, 'gone.example.test', 'A')).toEqual(['192.0.2.5']);
    await provider.deleteRecords('example.test', [{ name: 'gone', type: 'A' }]);
    expect(await digAnswer(named.port, 'gone.example.test', 'A')).toEqual([]);
    await provider.deleteRecords('example.test', [{ name: 'gone', type: 'A' }]);
    expect(await provider.listRecords('example.test', 'gone')).toEqual([]);
  }, 30_000);

  it('reports a wrong TSIG secret or key name clearly and changes nothing', async () => {
    if (!named) return;
    const wrongSecret = new Rfc2136DnsProvider({
      server: '127.0.0.1',
      port: named.port,
      tsig: { ...named.tsig, secret: Buffer.alloc(32, 7).toString('base64') },
    });
    await expect(
      wrongSecret.upsertRecords('example.test', [{ name: 'intruder', type: 'A', ttl: 300, values: ['192.0.2.66'] }]),
    ).rejects.toThrow(/rejected the TSIG key "portal-key" for zone example\.test\. .*BADSIG/);
    const wrongName = new Rfc2136DnsProvider({
      server: '127.0.0.1',
      port: named.port,
      tsig: { ...named.tsig, name: 'other-key' },
    });
    await expect(
      wrongName.deleteRecords('example.test', [{ name: 'social', type: 'A' }]),
    ).rejects.toMatchObject({ name: 'NotAllowedError', message: expect.stringMatching(/BADKEY/) });
    expect(await digAnswer(named.port, 'intruder.example.test', 'A')).toEqual([]);
  }, 30_000);

  it('rejects hostile input before any process runs', async () => {
    const calls: string[][] = [];
    const spy: ProcessRunner = async argv => {
      calls.push([...argv]);
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    const guarded = new Rfc2136DnsProvider({
      server: '127.0.0.1',
      port: 53,
      tsig: { name: 'k', algorithm: 'hmac-sha256', secret: Buffer.alloc(32).toString('base64') },
      runner: spy,
    });
    for (const value of HOSTILE_ARGS.filter(v => v !== '')) {
      await expect(guarded.upsertRecords('example.test', [{ name: value, type: 'A', ttl: 1, values: ['192.0.2.1'] }])).rejects.toThrow();
      await expect(guarded.upsertRecords(value, [{ name: 'a', type: 'A', ttl: 1, values: ['192.0.2.1'] }])).rejects.toThrow();
      await expect(guarded.upsertRecords('example.test', [{ name: 'a', type: 'A', ttl: 1, values: [value] }])).rejects.toThrow();
      await expect(guarded.deleteRecords('example.test', [{ name: value, type: 'A' }])).rejects.toThrow();
      await expect(guarded.listRecords('example.test', value)).rejects.toThrow();
    }
    // (a quoted string without specials is a valid TXT value)
    for (const value of HOSTILE_ARGS.filter(v => v !== '' && v !== '"double"')) {
      await expect(guarded.upsertRecords('example.test', [{ name: 'a', type: 'TXT', ttl: 1, values: [value] }])).rejects.toThrow();
    }
    expect(() => new Rfc2136DnsProvider({ server: '-x', tsig: { name: 'k', algorithm: 'hmac-sha256', secret: 'AAAAAAAAAAAAAAAAAAAA' }, runner: spy })).toThrow(/DNS server/);
    expect(() => new Rfc2136DnsProvider({ server: '127.0.0.1', tsig: { name: 'k', algorithm: 'hmac-sha256', secret: 'abc\nsend' }, runner: spy })).toThrow(/base64/);
    expect(() => new Rfc2136DnsProvider({ server: '127.0.0.1', tsig: { name: 'k; x', algorithm: 'hmac-sha256', secret: 'AAAAAAAAAAAAAAAAAAAA' }, runner: spy })).toThrow(/TSIG key name/);
    expect(calls).toEqual([]);
  });

  it('keeps the secret out of argv (it goes on stdin)', async () => {
    const seen: Array<{ argv: readonly string[]; stdin?: string }> = [];
    const spy: ProcessRunner = async (argv, options) => {
      seen.push({ argv, stdin: options.stdin });
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    const secret = Buffer.alloc(32, 1).toString('base64');
    const p = new Rfc2136DnsProvider({ server: '127.0.0.1', tsig: { name: 'k', algorithm: 'hmac-sha256', secret }, runner: spy });
    await p.upsertRecords('example.test', [{ name: 'a', type: 'A', ttl: 60, values: ['192.0.2.1'] }]);
    expect(seen[0].argv.join(' ')).not.toContain(secret);
    expect(seen[0].stdin).toBe(
      `server 127.0.0.1 53\nzone example.test.\nkey hmac-sha256:k ${secret}\n` +
        'update delete a.example.test. A\nupdate add a.example.test. 60 A 192.0.2.1\nsend\n',
    );
  });
});
