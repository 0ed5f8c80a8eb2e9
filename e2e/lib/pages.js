/* What every browser walkthrough does on the portal's pages: find the sidebar, sign in as guest, move around. */
const { expectVisible } = require('./steps');

const baseUrl = process.env.E2E_BASE_URL ?? 'http://localhost:3000';

function sidebar(page) {
  return page.getByRole('navigation', { name: 'sidebar nav' });
}

/** Opens the portal and passes the guest sign-in page, ending on a page with the sidebar. */
async function signInAsGuest(page) {
  await page.goto(baseUrl);
  const enter = page.getByRole('button', { name: 'Enter' });
  await expectVisible(enter, 'the guest sign-in page with an "Enter" button');
  await enter.click();
  await expectVisible(
    sidebar(page).getByRole('link', { name: 'Catalog', exact: true }),
    'the sidebar with a "Catalog" link after signing in',
  );
}

/**
 * Client-side navigation, like following a link. (Full page loads keep the guest signed in, even while the backend
 * restarts: sessionAndSignals.e2e.js tests that.)
 */
async function navigateInApp(page, pathAndQuery) {
  await page.evaluate(target => {
    window.history.pushState({}, '', target);
    window.dispatchEvent(new PopStateEvent('popstate', { state: {} }));
  }, pathAndQuery);
}

module.exports = { baseUrl, sidebar, signInAsGuest, navigateInApp };
