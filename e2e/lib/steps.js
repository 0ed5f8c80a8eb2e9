/*
 * A tiny layer over node:test for browser walk-throughs: steps share one page and run in order, a failed step
 * skips the rest (so only the real failure is reported), and every step leaves a screenshot.
 */
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', 'e2e-screenshots');

function createWalkthrough(name, getPage) {
  let failed = false;
  let index = 0;
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });

  async function screenshot(label) {
    const page = getPage();
    if (!page) return undefined;
    const file = path.join(SCREENSHOT_DIR, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    return file;
  }

  /** Declares a step; `fn(page)` should throw an Error whose message says what was expected and not seen. */
  function step(title, fn, { timeout = 120_000 } = {}) {
    const label = `${String(++index).padStart(2, '0')}-${title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    test(title, { timeout }, async t => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn(getPage());
        await screenshot(label);
      } catch (error) {
        failed = true;
        const file = await screenshot(`${label}-FAILED`);
        const url = getPage()?.url();
        error.message = `${title}: ${error.message}${url ? `\n  page: ${url}` : ''}${
          file ? `\n  screenshot: ${path.relative(process.cwd(), file)}` : ''
        }`;
        throw error;
      }
    });
  }

  return { step, screenshot };
}

/** Waits for `locator` to be visible, failing with `what` in the message. */
async function expectVisible(locator, what, timeout = 60_000) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch {
    throw new Error(`expected to see ${what} within ${timeout / 1000}s, but it did not appear`);
  }
}

module.exports = { createWalkthrough, expectVisible };
