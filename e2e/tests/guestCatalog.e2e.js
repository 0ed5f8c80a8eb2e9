/*
 * A guest signs in, opens the catalog, finds every app definition of catalog/, opens Mastodon's page and sees its
 * SWOT card; then lists apps by a threat keyword on our Apps page.
 */
const path = require('node:path');
const fs = require('node:fs');
const { describe, before, after } = require('node:test');
const YAML = require('yaml');
const { launchBrowser } = require('../lib/browser');
const { readAppDefinitions } = require('../lib/appDefinitions');
const { createWalkthrough, expectVisible } = require('../lib/steps');
const { navigateInApp, sidebar, signInAsGuest } = require('../lib/pages');

const root = path.resolve(__dirname, '..', '..');
/** The catalog processes catalog/ shortly after the backend starts; allow for a slow first pass on two cores. */
const CATALOG_TIMEOUT_MS = 180_000;

const apps = readAppDefinitions(path.join(root, 'catalog'));
const mastodon = apps.find(app => app.name === 'mastodon');
const mastodonSpec = mastodon && readMastodonSpec();

function readMastodonSpec() {
  const file = path.join(root, 'catalog', 'apps', 'mastodon.yaml');
  return fs.existsSync(file) ? YAML.parse(fs.readFileSync(file, 'utf8')).spec : undefined;
}


function entityLink(page, app) {
  return page.locator(`a[href$="/catalog/${app.namespace}/component/${app.name}"]`);
}

describe('a guest browses the app definitions', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  const { step } = createWalkthrough('guest-catalog', () => browser?.page);

  step('catalog/ defines app definitions, Mastodon among them', async () => {
    if (apps.length === 0) throw new Error('no Component with spec.type fediversity-app found under catalog/');
    if (!mastodon) throw new Error('catalog/ has no app definition named mastodon');
    if (!mastodonSpec?.swot?.strengths?.length) throw new Error('catalog/apps/mastodon.yaml has no spec.swot.strengths');
  });

  step('signs in as guest', signInAsGuest);

  step('opens the catalog', async page => {
    await sidebar(page).getByRole('link', { name: 'Catalog', exact: true }).click();
    await page.waitForURL(/\/catalog/);
    // The picker starts at "Owned" once the guest's groups own something (the core services, when the
    // catalog has ingested them by now), at "All" otherwise.
    await expectVisible(page.getByText(/(All|Owned) components/i), 'the catalog table of components');
  });

  step('finds every app definition in the catalog', async page => {
    // All owners, only app definitions; a page large enough to hold them all.
    const listing = '/catalog?filters[kind]=component&filters[type]=fediversity-app&filters[user]=all&limit=100';
    await navigateInApp(page, listing);
    await expectVisible(entityLink(page, apps[0]), `the app definition ${apps[0].name}`, CATALOG_TIMEOUT_MS);
    // The first pass of the catalog may still be adding some while the table already shows others: list again.
    const deadline = Date.now() + CATALOG_TIMEOUT_MS;
    let missing;
    for (;;) {
      missing = [];
      for (const app of apps) {
        if ((await entityLink(page, app).count()) === 0) missing.push(app.name);
      }
      if (missing.length === 0 || Date.now() > deadline) break;
      await page.waitForTimeout(2_000);
      // The catalog page keeps its filters in its own state: leave it and come back with the listing's query.
      await navigateInApp(page, '/');
      await navigateInApp(page, listing);
      await expectVisible(entityLink(page, apps[0]), `the app definition ${apps[0].name}`);
    }
    if (missing.length > 0) {
      throw new Error(
        `the catalog lists ${apps.length - missing.length} of ${apps.length} app definitions; missing: ${missing.join(', ')}`,
      );
    }
  }, { timeout: CATALOG_TIMEOUT_MS + 60_000 });

  step("opens Mastodon's page and sees its SWOT card", async page => {
    await entityLink(page, mastodon).first().click();
    await page.waitForURL(/\/catalog\/default\/component\/mastodon/);
    await expectVisible(page.getByRole('heading', { name: 'SWOT', exact: true }), 'the SWOT card on Mastodon\'s page');
    for (const quadrant of ['Strengths', 'Weaknesses', 'Opportunities', 'Threats']) {
      await expectVisible(page.getByRole('region', { name: quadrant }), `the ${quadrant} quadrant of the SWOT card`, 10_000);
    }
    const strength = mastodonSpec.swot.strengths[0];
    await expectVisible(page.getByText(strength, { exact: true }), `Mastodon's first strength "${strength}"`, 10_000);
  });

  step('lists apps by threat keyword on the Apps page', async page => {
    const keyword = mastodonSpec.swotKeywords?.threats?.[0];
    if (!keyword) throw new Error('catalog/apps/mastodon.yaml has no spec.swotKeywords.threats');
    await sidebar(page).getByRole('link', { name: 'Apps', exact: true }).click();
    await page.waitForURL(/\/fediversity\/apps/);
    await expectVisible(entityLink(page, mastodon), 'Mastodon in the Apps page list');
    await page.getByRole('searchbox', { name: /keyword/i }).fill(keyword);
    await page.waitForURL(url => url.searchParams.get('keyword') === keyword);
    await expectVisible(entityLink(page, mastodon), `Mastodon listed for the threat keyword "${keyword}"`, 10_000);
  });
});
