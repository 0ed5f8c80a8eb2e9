/*
 * The guest's session survives full page loads (reload, deep link, and a reload while the backend is briefly
 * unreachable, as when it restarts), and the Jobs page follows a job through Backstage signals: the backend pushes
 * the job's changes over the signals websocket and the page shows the job finished.
 */
const path = require('node:path');
const fs = require('node:fs');
const { describe, before, after } = require('node:test');
const YAML = require('yaml');
const { launchBrowser } = require('../lib/browser');
const { createWalkthrough, expectVisible } = require('../lib/steps');
const { baseUrl, sidebar, signInAsGuest } = require('../lib/pages');

const root = path.resolve(__dirname, '..', '..');
const backendUrl = process.env.E2E_BACKEND_URL ?? 'http://localhost:7007';
const JOB_SIGNAL_CHANNEL = 'fediversity:jobs';
/** How long a failing auth backend is simulated during a reload. */
const UNREACHABLE_MS = 6_000;

/** An app definition owned by a group the guest belongs to, so the guest may start a job on it. */
function entityOwnedByGuest() {
  const entities = fs
    .readdirSync(path.join(root, 'catalog'), { recursive: true })
    .filter(file => /\.ya?ml$/.test(file))
    .flatMap(file => YAML.parseAllDocuments(fs.readFileSync(path.join(root, 'catalog', file), 'utf8')))
    .map(document => document.toJS());
  const guest = entities.find(e => e?.kind === 'User' && e.metadata?.name === 'guest');
  const groups = (guest?.spec?.memberOf ?? []).map(group => (group.includes(':') ? group : `group:default/${group}`));
  const app = entities.find(e => e?.kind === 'Component' && e.spec?.type === 'fediversity-app' && groups.includes(e.spec.owner));
  return app && `component:${app.metadata.namespace ?? 'default'}/${app.metadata.name}`;
}


/** Waits until the page is signed in; fails as soon as the sign-in page shows instead. */
async function expectSignedIn(page, what, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await page.getByRole('button', { name: 'Enter' }).isVisible().catch(() => false)) {
      throw new Error(`${what}: the guest sign-in page appeared (the session was not restored)`);
    }
    if (await sidebar(page).getByRole('link', { name: 'Catalog', exact: true }).isVisible().catch(() => false)) return;
    await page.waitForTimeout(250);
  }
  throw new Error(`${what}: neither signed in nor the sign-in page within ${timeoutMs / 1000}s`);
}

describe('a guest session across page loads, and live job updates', () => {
  let browser;
  /** Signals websocket traffic of the page: what it sent (subscriptions) and received (signals). */
  const signalFrames = { sent: [], received: [] };
  before(async () => {
    browser = await launchBrowser();
    browser.page.on('websocket', ws => {
      if (!ws.url().includes('/api/signals')) return;
      ws.on('framesent', frame => signalFrames.sent.push(String(frame.payload)));
      ws.on('framereceived', frame => signalFrames.received.push(String(frame.payload)));
    });
  });
  after(async () => {
    await browser?.close();
  });
  const { step } = createWalkthrough('session-and-signals', () => browser?.page);

  step('signs in as guest', signInAsGuest);

  step('stays signed in across a reload', async page => {
    await page.reload();
    await expectSignedIn(page, 'after page.reload()');
  });

  step('stays signed in on a full page load of a deep link', async page => {
    await page.goto(new URL('/fediversity/jobs', baseUrl).toString());
    await expectSignedIn(page, 'after loading /fediversity/jobs');
    await expectVisible(page.getByRole('heading', { name: 'Jobs', exact: true }), 'the Jobs page');
  });

  step('stays signed in when the backend is briefly unreachable during a reload', async page => {
    let refusedUntil;
    let refused = 0;
    await page.route(
      url => url.pathname.endsWith('/api/auth/guest/refresh'),
      route => {
        refusedUntil ??= Date.now() + UNREACHABLE_MS;
        if (Date.now() >= refusedUntil) return route.continue();
        refused += 1;
        return route.abort('connectionrefused');
      },
    );
    try {
      await page.reload();
      await expectSignedIn(page, `after a reload with the auth backend unreachable for ${UNREACHABLE_MS / 1000}s`);
    } finally {
      await page.unroute(url => url.pathname.endsWith('/api/auth/guest/refresh'));
    }
    if (refused === 0) throw new Error('the reload made no guest refresh request, so nothing was tested');
  });

  step('the Jobs page follows a job through Backstage signals', async page => {
    const entityRef = entityOwnedByGuest();
    if (!entityRef) throw new Error('catalog/ has no app definition owned by a group of user guest');
    await page.goto(new URL('/fediversity/jobs', baseUrl).toString());
    await expectSignedIn(page, 'on the Jobs page');
    const subscribed = () => signalFrames.sent.some(f => f.includes('"subscribe"') && f.includes(JOB_SIGNAL_CHANNEL));
    for (let waited = 0; !subscribed(); waited += 250) {
      if (waited > 60_000) throw new Error(`the Jobs page did not subscribe to ${JOB_SIGNAL_CHANNEL} over /api/signals`);
      await page.waitForTimeout(250);
    }

    const finishedRows = page.getByRole('row').filter({ hasText: 'demo.echo' }).filter({ hasText: 'Succeeded' });
    await page.getByRole('table', { name: 'Jobs' }).or(page.getByText('No jobs match these filters.')).first().waitFor();
    const finishedBefore = await finishedRows.count();

    // Start a short job as the guest, the way the UI's API client does.
    const created = await page.evaluate(async ({ ref, backend }) => {
      const refresh = await fetch(`${backend}/api/auth/guest/refresh`, {
        credentials: 'include',
        headers: { 'x-requested-with': 'XMLHttpRequest' },
      });
      const token = (await refresh.json()).backstageIdentity.token;
      const response = await fetch(`${backend}/api/fediversity/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ kind: 'demo.echo', entityRef: ref, params: { message: 'live updates e2e', sleepSeconds: 2 } }),
      });
      return { status: response.status, body: await response.json() };
    }, { ref: entityRef, backend: backendUrl });
    if (created.status !== 201) throw new Error(`creating a demo job answered ${created.status}: ${JSON.stringify(created.body)}`);
    const jobId = created.body.id;

    const finishedSignal = () =>
      signalFrames.received
        .map(frame => JSON.parse(frame))
        .find(f => f.channel === JOB_SIGNAL_CHANNEL && f.message?.jobId === jobId && f.message?.status === 'succeeded');
    for (let waited = 0; !finishedSignal(); waited += 250) {
      if (waited > 60_000) {
        throw new Error(`no "succeeded" signal for job ${jobId} on ${JOB_SIGNAL_CHANNEL}; received: ${signalFrames.received.slice(-5).join(' ')}`);
      }
      await page.waitForTimeout(250);
    }
    const message = finishedSignal().message;
    if (Object.keys(message).sort().join() !== 'entityRef,jobId,lastSeq,status') {
      throw new Error(`a job signal carries more than ids and state: ${JSON.stringify(message)}`);
    }
    // The page refetches on the signal; its fallback poll (once a minute while signals work) is too slow for this.
    for (let waited = 0; (await finishedRows.count()) <= finishedBefore; waited += 250) {
      if (waited > 15_000) throw new Error(`job ${jobId} was not shown as Succeeded on the Jobs page 15s after its signal`);
      await page.waitForTimeout(250);
    }
  });
});
