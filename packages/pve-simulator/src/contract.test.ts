import fs from 'node:fs';
import path from 'node:path';
import { CorpusCase, EndpointFixture, generateCorpus } from './__testUtils__/corpus';
import { request, WireResponse } from './__testUtils__/request';
import { ManualClock } from './clock';
import { defaultApidocPath, indexApidoc, readApidoc } from './schema/apidoc';
import { implementedMethodKeys, PveSimulator, startPveSimulator } from './simulator';

/**
 * Contract test (issue 3): a corpus generated from the official schema's parameter
 * definitions for every implemented method is sent to the simulator twice, once
 * validating with its built-in rules and once with the official schema; both must
 * accept and reject exactly as the schema says, with PVE's 400 error shape, and
 * answer identically.
 */
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const apidocPath = defaultApidocPath(repoRoot);
const haveSchema = fs.existsSync(apidocPath);
if (!haveSchema) {
  // eslint-disable-next-line no-console
  console.warn(`Skipping the PVE simulator contract test: schema ${apidocPath} not found (set PVE_APIDOC)`);
}

const UPID = '{upid-of-a-task}';
const SCHEMA_MESSAGE =
  /^(property is not defined in schema and the schema does not allow additional properties|property is missing and it is not optional|type check \('\w+'\) failed( - got .*)?|value must have a (minimum|maximum) value of .+|value '.*' does not have a value in the enumeration '.*'|value does not match the regex pattern|value may only be \d+ characters long|value must be at least \d+ characters long|invalid format - [\s\S]+|missing property - '.+' requires this property)$/s;

function fixture(): EndpointFixture {
  const values: Record<string, string> = { node: 'pve-a', vmid: '101', storage: 'local', snapname: 'snap1', upid: UPID };
  return { path: values, skipInvalidPath: ['node'] };
}

function isSchemaRejection(res: WireResponse): boolean {
  return (
    res.status === 400 &&
    res.json?.message === 'Parameter verification failed.\n' &&
    Object.values(res.json?.errors ?? {}).some(m => SCHEMA_MESSAGE.test(String(m)))
  );
}

async function send(sim: PveSimulator, upid: string, c: CorpusCase): Promise<WireResponse> {
  const target = c.path.replace(encodeURIComponent(UPID), encodeURIComponent(upid));
  // The login call refuses API tokens (allowtoken 0), so it goes without credentials.
  const token = target === '/access/ticket' ? null : undefined;
  if (c.json) return request(sim, c.method, target, { json: c.params, token });
  const params = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, String(v)]));
  if (c.method === 'GET' || c.method === 'DELETE') {
    const query = new URLSearchParams(params).toString();
    return request(sim, c.method, query ? `${target}?${query}` : target, { token });
  }
  return request(sim, c.method, target, { form: params, token });
}

/** What is wrong with a response for a case, or undefined when it is as the schema says. */
function verdict(c: CorpusCase, res: WireResponse): string | undefined {
  if (c.expect.accept) {
    return isSchemaRejection(res) ? `rejected: ${JSON.stringify(res.json.errors)}` : undefined;
  }
  if (res.status !== 400) return `status ${res.status} ${res.text.slice(0, 200)}`;
  if (res.reason !== 'Parameter verification failed.') return `reason '${res.reason}'`;
  if (res.headers['content-type'] !== 'application/json;charset=UTF-8') return `content-type ${res.headers['content-type']}`;
  if (res.json.data !== null || res.json.message !== 'Parameter verification failed.\n') return `envelope ${res.text}`;
  const message = res.json.errors?.[c.expect.key];
  if (message === undefined) return `no error on '${c.expect.key}': ${JSON.stringify(res.json.errors)}`;
  if (!SCHEMA_MESSAGE.test(message)) return `not a schema message: ${JSON.stringify(message)}`;
  return undefined;
}

(haveSchema ? describe : describe.skip)('simulator parameter validation against the official PVE schema', () => {
  const index = haveSchema ? indexApidoc(readApidoc(apidocPath)) : new Map();
  const corpus = haveSchema
    ? generateCorpus(
        implementedMethodKeys().map(key => {
          const raw = index.get(key);
          if (!raw) throw new Error(`schema has no ${key}`);
          return { key, properties: raw.properties, fixture: fixture() };
        }),
      )
    : [];
  const sims: Record<'builtin' | 'apidoc', { sim: PveSimulator; upid: string }> = {} as never;
  const answers: Record<'builtin' | 'apidoc', WireResponse[]> = { builtin: [], apidoc: [] };

  beforeAll(async () => {
    for (const mode of ['builtin', 'apidoc'] as const) {
      const sim = await startPveSimulator({
        http: true,
        clock: new ManualClock(),
        authFailureDelayMs: 0,
        validation: mode === 'builtin' ? 'builtin' : { apidoc: apidocPath },
      });
      const stop = await request(sim, 'POST', '/nodes/pve-a/lxc/110/status/stop');
      sims[mode] = { sim, upid: stop.json.data };
      for (const c of corpus) answers[mode].push(await send(sim, sims[mode].upid, c));
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all(Object.values(sims).map(s => s.sim.close()));
  });

  it('has at least 500 generated requests, valid and invalid, over every implemented method', () => {
    const valid = corpus.filter(c => c.expect.accept).length;
    expect(corpus.length).toBeGreaterThanOrEqual(500);
    expect(valid).toBeGreaterThanOrEqual(150);
    expect(corpus.length - valid).toBeGreaterThanOrEqual(150);
    expect(new Set(corpus.map(c => c.endpoint))).toEqual(new Set(implementedMethodKeys()));
    // eslint-disable-next-line no-console
    console.log(`contract corpus: ${corpus.length} requests (${valid} valid, ${corpus.length - valid} invalid) over ${implementedMethodKeys().length} methods`);
  });

  it.each(['builtin', 'apidoc'] as const)('with %s rules, accepts and rejects as the schema says, with PVE error shapes', mode => {
    const wrong = corpus
      .map((c, i) => ({ c, problem: verdict(c, answers[mode][i]) }))
      .filter(x => x.problem)
      .map(x => `${x.c.method} ${x.c.path} ${JSON.stringify(x.c.params)} [${x.c.why}]: ${x.problem}`);
    expect(wrong).toEqual([]);
  });

  it('answers identically with built-in rules and with the official schema', () => {
    const differences = corpus
      .map((c, i) => ({ c, a: answers.builtin[i], b: answers.apidoc[i] }))
      .filter(({ a, b }) => a.status !== b.status || JSON.stringify(a.json?.errors) !== JSON.stringify(b.json?.errors))
      .map(({ c, a, b }) => `${c.method} ${c.path} ${JSON.stringify(c.params)}: builtin ${a.status} ${JSON.stringify(a.json?.errors)} / schema ${b.status} ${JSON.stringify(b.json?.errors)}`);
    expect(differences).toEqual([]);
  });
});
