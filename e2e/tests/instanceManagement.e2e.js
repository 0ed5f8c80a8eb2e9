/*
 * The management UI end to end: a guest provisions a Mastodon from its template, finds the instance in the
 * catalog with its SWOT and live status, migrates it to another node through the wizard (preflight, start,
 * approve the cut-over, completion), sees the instance on its new node and decommissions the old guest; then looks at
 * the Jobs page and the node's page. Screenshots of every page go to e2e-screenshots/instance-management-*.png.
 */
const { createHash, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { describe, before, after } = require('node:test');
const { launchBrowser } = require('../lib/browser');
const { createWalkthrough, expectVisible } = require('../lib/steps');
const { navigateInApp, sidebar, signInAsGuest } = require('../lib/pages');

/** Provisioning runs the real template against the simulator and demo hosts (nixos-rebuild included). */
const PROVISION_TIMEOUT_MS = 600_000;

/** A migration copies, catches up twice, waits for the approval, then copies again and observes for 10 s. */
const MIGRATION_TIMEOUT_MS = 300_000;
/** The demo guests of the portal started the README way (fediversity.dataDir: .data). */
const demoGuestsDir = path.resolve(__dirname, '..', '..', '.data', 'demo-hosts', 'guests');

const domain = `e2e-${Date.now().toString(36)}.example.org`;
const instanceName = `mastodon-${domain.replace(/\./g, '-')}`;
const instancePath = `/catalog/default/component/${instanceName}`;


/** The entity page does not look again after "Entity not found": come back until the provider has added it. */
async function openEntityPage(page, entityPath, timeoutMs) {
  const card = page.getByRole('heading', { name: 'Instance', exact: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await navigateInApp(page, '/catalog');
    await navigateInApp(page, entityPath);
    try {
      await card.first().waitFor({ state: 'visible', timeout: 15_000 });
      return;
    } catch {
      if (Date.now() > deadline) {
        throw new Error(`expected the Instance card on ${entityPath} within ${timeoutMs / 1000}s, but it did not appear`);
      }
    }
  }
}

/** The instance's VMID, from the Guest link of its Instance card (`…/resource/demo-ct-104`). */
async function instanceVmid(page) {
  const href = await page.locator('a[href*="/catalog/default/resource/"][href*="-ct-"]').first().getAttribute('href');
  const match = /-ct-(\d+)$/.exec(href ?? '');
  if (!match) throw new Error(`expected the Instance card to link the instance's guest, found ${href}`);
  return Number(match[1]);
}

/** Path → sha256 of every file below `dir`. */
function treeDigest(dir) {
  const digest = {};
  const walk = (current, relative) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(full, name);
      else digest[name] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(dir, '');
  return digest;
}

async function clickTab(page, name) {
  // The entity page's content tabs render as tabs or as links, depending on the layout.
  await page.getByRole('tab', { name, exact: true }).or(page.getByRole('link', { name, exact: true })).first().click();
}

describe('a guest provisions a Mastodon instance, inspects it and migrates it to another node', () => {
  const migration = { sourceVmid: undefined, targetNode: undefined, seeded: undefined };
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  const { step } = createWalkthrough('instance-management', () => browser?.page);

  step('signs in as guest', signInAsGuest);

  step('provisions a Mastodon from its template', async page => {
    await navigateInApp(page, '/create/templates/default/fediversity-mastodon');
    const owner = page.getByRole('combobox', { name: /Owner/ }).or(page.getByLabel(/Owner/));
    await expectVisible(owner, 'the Mastodon template form with an Owner field', 120_000);
    await owner.first().fill('group:default/platform-team');
    await owner.first().press('Tab');
    await page.getByLabel(/Domain/).first().fill(domain);
    // Placement and Size keep their defaults.
    const create = page.getByRole('button', { name: 'Create', exact: true });
    for (let i = 0; i < 8 && !(await create.isVisible()); i++) {
      await page.getByRole('button', { name: /^(Next|Review)$/ }).first().click();
      await page.waitForTimeout(500);
    }
    await create.click();
    await expectVisible(page.getByText(/Record the instance/), 'the scaffolder task page with its steps');
    // A finished run shows the template's output links; the next step checks the instance itself.
    await expectVisible(
      page.getByRole('link', { name: /Instance in the catalog/i }),
      'the "Instance in the catalog" output link of a finished template run',
      PROVISION_TIMEOUT_MS,
    );
  }, { timeout: PROVISION_TIMEOUT_MS + 120_000 });

  step('sees the instance in the catalog with its SWOT and live status', async page => {
    await openEntityPage(page, instancePath, 240_000);
    await expectVisible(page.getByText(domain).first(), `the domain ${domain} on the Instance card`);
    const live = page.getByRole('region', { name: 'Live status' });
    await expectVisible(live.getByText('running', { exact: true }), 'the guest running in the live status from Proxmox');
    await expectVisible(page.getByRole('heading', { name: 'SWOT', exact: true }), 'the SWOT card of the instance');
  }, { timeout: 300_000 });

  // What the running app would have written: Mastodon's state directory on the instance's demo guest.
  step('the instance has state on its demo guest', async page => {
    migration.sourceVmid = await instanceVmid(page);
    const state = path.join(demoGuestsDir, `ct-${migration.sourceVmid}`, 'root', 'var', 'lib', 'mastodon');
    if (!fs.existsSync(path.dirname(path.dirname(state)))) {
      throw new Error(`expected the demo guest ct-${migration.sourceVmid} under ${demoGuestsDir} (a portal started the README way)`);
    }
    fs.mkdirSync(path.join(state, 'secrets'), { recursive: true });
    fs.mkdirSync(path.join(state, 'public', 'system', 'media'), { recursive: true });
    fs.writeFileSync(path.join(state, 'secrets', 'secret-key-base'), randomBytes(64).toString('hex'));
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(state, 'public', 'system', 'media', `${i}.bin`), randomBytes(8192));
    migration.seeded = treeDigest(state);
  });

  step('opens the migration wizard and picks another node and storage', async page => {
    await clickTab(page, 'Migration');
    await page.getByRole('button', { name: 'Migrate…' }).click();
    const node = page.getByRole('combobox', { name: 'Target node' });
    await expectVisible(node, 'the migration wizard');
    const options = await node.locator('option').evaluateAll(os => os.map(o => o.value).filter(Boolean));
    if (options.length === 0) throw new Error('the wizard offers no other node');
    await node.selectOption(options[0]);
    migration.targetNode = options[0].split('/').pop();
    const storage = page.getByRole('combobox', { name: 'Target storage' });
    const storages = await storage.locator('option').evaluateAll(os => os.map(o => o.value).filter(Boolean));
    if (storages.length === 0) throw new Error(`the wizard offers no storage on ${options[0]}`);
    await storage.selectOption(storages.includes('local-zfs') ? 'local-zfs' : storages[0]);
  });

  step('runs the preflight checks and sees them pass, with what a demo guest does not move', async page => {
    await page.getByRole('button', { name: 'Run preflight checks' }).click();
    const results = page.getByRole('region', { name: 'Preflight results' }).or(page.getByLabel('Preflight results'));
    await expectVisible(results.getByText(`✓ target node: ${migration.targetNode} is online`), 'the passed target node check');
    await expectVisible(
      results.getByText('✓ data class database: demo guest: no database runs here; files and identity move'),
      'the check saying a demo guest runs no database',
    );
    await expectVisible(results.getByText(/✓ source host: ct-\d+@/), 'the source host reached with its pinned key');
    const failed = await results.getByText(/^✗/).allTextContents();
    if (failed.length) throw new Error(`expected every preflight check to pass, but: ${failed.join('; ')}`);
  });

  step('starts the migration and follows it live to the approval of the cut-over', async page => {
    await page.getByRole('button', { name: 'Start migration' }).click();
    await expectVisible(page.getByText(/^Migration [0-9a-f-]{36}$/), 'the live view of the started migration');
    await expectVisible(page.getByText(new RegExp(`^To guest \\d+ on ${migration.targetNode} \\(cluster demo\\)`)), 'where the migration goes');
    await expectVisible(
      page.getByRole('region', { name: 'Approval' }).getByRole('button', { name: 'Approve the cut-over' }),
      'the approval of the cut-over, after the copy caught up',
      MIGRATION_TIMEOUT_MS,
    );
    await expectVisible(page.getByRole('region', { name: 'Approval' }).getByText(/files:state: last pass/), 'the measured lag of the files');
  }, { timeout: MIGRATION_TIMEOUT_MS + 60_000 });

  step('approves the cut-over and watches the migration complete', async page => {
    const approval = page.getByRole('region', { name: 'Approval' });
    await approval.getByRole('textbox').fill('e2e: quiet hour');
    await approval.getByRole('button', { name: 'Approve the cut-over' }).click();
    await expectVisible(
      page.getByText(new RegExp(`^The instance now runs as guest \\d+ on ${migration.targetNode} \\(cluster demo\\)`)),
      'the migration completed, saying where the instance now runs',
      MIGRATION_TIMEOUT_MS,
    );
    await expectVisible(page.getByText(/^Approved by user:\S+: e2e: quiet hour$/), 'who approved the cut-over, with the comment');
  }, { timeout: MIGRATION_TIMEOUT_MS + 60_000 });

  step('sees the instance on its new node, running, its files on the new guest', async page => {
    // The catalog takes the moved record in within seconds; reading the page again also rides out a backend restart.
    const onNewNode = page.getByText(new RegExp(`^${migration.targetNode} \\(cluster demo\\)$`));
    const running = page.getByRole('region', { name: 'Live status' }).getByText('running', { exact: true });
    const deadline = Date.now() + 180_000;
    for (;;) {
      await openEntityPage(page, instancePath, 120_000);
      const shown = await onNewNode
        .first()
        .waitFor({ state: 'visible', timeout: 15_000 })
        .then(() => running.first().waitFor({ state: 'visible', timeout: 15_000 }))
        .then(() => true, () => false);
      // The new guest is in the catalog too (the entity page warns about relations to missing entities otherwise).
      if (shown && (await page.getByText(/can't be found in the catalog/).count()) === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`expected the Instance card to show the node ${migration.targetNode} and its new guest, in the catalog and running`);
      }
      await page.waitForTimeout(3_000);
    }
    const targetVmid = await instanceVmid(page);
    if (targetVmid === migration.sourceVmid) throw new Error(`expected a new guest, the card still shows ${targetVmid}`);
    const copied = treeDigest(path.join(demoGuestsDir, `ct-${targetVmid}`, 'root', 'var', 'lib', 'mastodon'));
    const differ = Object.keys(migration.seeded).filter(file => copied[file] !== migration.seeded[file]);
    if (differ.length) throw new Error(`expected the instance's files on guest ${targetVmid}, but these differ: ${differ.join(', ')}`);
  }, { timeout: 300_000 });

  step('decommissions the old guest from the Migration tab, approving its destruction', async page => {
    await clickTab(page, 'Migration');
    await page.getByRole('table', { name: 'Migration history' }).getByRole('button', { name: 'Decommission old guest…' }).click();
    await page.getByRole('region', { name: 'Decommission the old guest' }).getByRole('button', { name: 'Start decommission' }).click();
    await expectVisible(page.getByText(/^Decommission [0-9a-f-]{36}$/), 'the live view of the decommission');
    const old = `guest ${migration.sourceVmid} on `;
    await expectVisible(page.getByText(`Destroys ${old}`, { exact: false }), 'which guest the decommission destroys');
    const approve = page.getByRole('region', { name: 'Approval' }).getByRole('button', { name: 'Approve the destruction' });
    await expectVisible(approve, 'the approval of the destruction', 120_000);
    await approve.click();
    await expectVisible(page.getByText(new RegExp(`^Destroyed ${old}`)), 'the old guest destroyed', 120_000);
  }, { timeout: 300_000 });
});

/** Pages every reviewer wants a picture of, independent of the migration's outcome. */
describe('a guest looks at jobs, replication, backups and a node', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  const { step } = createWalkthrough('management-pages', () => browser?.page);

  step('signs in as guest', signInAsGuest);

  step('opens the Jobs page from the sidebar and sees the jobs of the provisioned instance', async page => {
    await sidebar(page).getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.waitForURL(/\/fediversity\/jobs/);
    await page.getByRole('searchbox').fill(instanceName);
    await expectVisible(page.getByRole('table', { name: 'Jobs' }), `the jobs table with jobs of ${instanceName}`);
  });

  step('opens the Replication and Backups tabs of the instance; a replication run from the new guest succeeds', async page => {
    await openEntityPage(page, instancePath, 120_000);
    await clickTab(page, 'Replication');
    await expectVisible(page.getByRole('heading', { name: 'Replication', exact: true }), 'the Replication card');
    // Provisioning scheduled the files to the demo replica; after the migration the schedule reads from the new guest.
    const state = page.getByRole('region', { name: 'Data class state' });
    await expectVisible(state, 'the schedule of the state data class, created at provisioning');
    const runNow = state.getByRole('button', { name: 'Run now' });
    await expectVisible(runNow.and(page.locator(':enabled')), 'the Run now button of an idle schedule', 120_000);
    const rows = page.getByRole('table', { name: 'Replication runs' }).locator('tbody tr');
    const runsBefore = await rows.count();
    await runNow.click();
    // Runs are listed newest first: wait for the new row, so an earlier run's outcome is not mistaken for it.
    const appeared = Date.now() + 60_000;
    while ((await rows.count()) <= runsBefore) {
      if (Date.now() > appeared) throw new Error('expected a new run in the runs table within 60s after Run now');
      await page.waitForTimeout(500);
    }
    const newest = rows.first();
    await expectVisible(newest.getByText(/^(Succeeded|Failed|Cancelled)$/), 'the new replication run finished', 180_000);
    const outcome = (await newest.innerText()).trim();
    if (!/Succeeded/.test(outcome)) throw new Error(`the replication run did not succeed: ${outcome}`);
    await clickTab(page, 'Backups');
    await expectVisible(page.getByRole('heading', { name: 'Backups and restore', exact: true }), 'the Backups card');
  }, { timeout: 360_000 });

  step("opens a Proxmox node's page with its guests and storage usage", async page => {
    await navigateInApp(page, '/catalog?filters[kind]=resource&filters[type]=proxmox-node&filters[user]=all');
    const nodeLink = page.locator('a[href*="/catalog/default/resource/"]').first();
    await expectVisible(nodeLink, 'a Proxmox node in the catalog');
    await nodeLink.click();
    await expectVisible(page.getByRole('heading', { name: 'Guests', exact: true }), 'the Guests card of the node');
    await expectVisible(page.getByRole('heading', { name: 'Storage usage', exact: true }), 'the Storage usage card of the node');
    await expectVisible(page.getByRole('progressbar').first(), 'a storage usage bar from Proxmox');
  });
});
