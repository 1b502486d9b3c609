// The dashboard in a real browser (Debian's headless Chromium): log in, move an item on
// the board, watch a second signed-in browser follow live over server-sent events without
// a reload, and see a move the role forbids refused with a visible message.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { DEMO_PASSWORD, RELEASE, launchBrowser, logIn, startServer } from './lockstep.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh browser context (its own cookies) signed in as `user`, on the release page. */
async function dashboardAs(user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await logIn(page, server.url, user, `/releases/${RELEASE}`);
  assert.equal(new URL(page.url()).pathname, `/releases/${RELEASE}`);
  // The live feed is open before anyone moves anything.
  await page.waitForSelector('body[data-live="connected"]', { timeout: 10_000 });
  return { context, page, errors };
}

/** Chooses `status` for `item` on the board and presses its Move button. */
async function moveTo(page, item, status) {
  const card = page.locator(`[data-item="${item}"]`);
  await card.locator('select[data-move]').selectOption(status);
  await card.getByRole('button', { name: 'Move' }).click();
}

const column = (page, item) =>
  page.locator(`[data-item="${item}"]`).evaluate((card) => card.closest('[data-column]').dataset.column);

test('a login with a wrong password is refused on the form', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await page.getByLabel('User name').fill('mike');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
  assert.match(new URL(page.url()).pathname, /^\/login/);
  await context.close();
});

test('a move by mike shows up live in rita\'s dashboard, and a forbidden move is refused', async () => {
  const mike = await dashboardAs('mike');
  const rita = await dashboardAs('rita');
  const item = 'api-analytics-endpoints';
  assert.equal(await column(rita.page, item), 'staging');
  // Survives only if rita's page is never reloaded.
  await rita.page.evaluate(() => { window.__notReloaded = true; });

  await moveTo(mike.page, item, 'ready-for-release');
  await mike.page.locator('#flash').filter({ hasText: `Moved ${item}` }).waitFor();

  const started = Date.now();
  await rita.page.waitForFunction(
    (name) => document.querySelector(`[data-item="${name}"]`)?.closest('[data-column]')?.dataset.column === 'ready-for-release',
    item,
    { timeout: 5_000 },
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 2_000, `rita saw the move after ${elapsed} ms`);
  assert.equal(await rita.page.evaluate(() => window.__notReloaded), true, 'rita\'s page was not reloaded');
  assert.equal(await column(mike.page, item), 'ready-for-release');

  // mike leads the API team; the frontend's item is not his to move, so he gets no
  // control for it, and the server still refuses the write.
  const theirs = 'frontend-dashboard';
  const before = await column(mike.page, theirs);
  assert.equal(await mike.page.locator(`[data-item="${theirs}"] select, [data-item="${theirs}"] button`).count(), 0);
  assert.ok(await mike.page.locator(`[data-item="${item}"] button`).count() > 0, 'mike moves his own items');
  const refused = await mike.page.evaluate(async (name) => {
    const r = await fetch(`/api/v1/items/${name}/status`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]').content,
      },
      body: JSON.stringify({ status: 'testing' }),
    });
    return r.status;
  }, theirs);
  assert.equal(refused, 403);
  assert.equal(await column(rita.page, theirs), before);

  assert.deepEqual(mike.errors, [], 'no script errors for mike');
  assert.deepEqual(rita.errors, [], 'no script errors for rita');
  await mike.context.close();
  await rita.context.close();
});

test('an anonymous visitor is sent to the login page, and back after signing in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/releases/${RELEASE}`);
  // Every page needs a login, on loopback too.
  assert.match(new URL(page.url()).pathname, /^\/login/);
  await page.getByLabel('User name').waitFor();
  const api = await page.request.get(`${server.url}/api/v1/items`);
  assert.equal(api.status(), 401);
  assert.equal((await api.json()).status, 401);
  await page.getByLabel('User name').fill('viewer');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/releases/${RELEASE}`),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  // A viewer reads the board but gets no controls to move items.
  assert.equal(await page.locator('select[data-move]').count(), 0);
  await context.close();
});

test('a long unbroken link in a status note wraps instead of widening the page', async () => {
  // A token for rita by HTTP Basic, which only the token exchange accepts.
  const basic = Buffer.from(`rita:${DEMO_PASSWORD}`).toString('base64');
  const exchange = await fetch(`${server.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'browser test' }),
  });
  assert.equal(exchange.status, 201);
  const { token } = await exchange.json();
  // CI links are long and have no spaces to break at.
  const link = `https://ci.example.com/builds/${'0123456789abcdef'.repeat(30)}`;
  const posted = await fetch(`${server.url}/api/v1/items/frontend-dashboard/updates`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date: new Date().toISOString().slice(0, 10), text: `Build ${link} green` }),
  });
  assert.ok(posted.ok, `posting the note: ${posted.status}`);

  for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    for (const route of ['/items/frontend-dashboard', `/releases/${RELEASE}`]) {
      await logIn(page, server.url, 'rita', route);
      await page.getByText(link.slice(0, 60)).first().waitFor();
      const [scrollWidth, innerWidth] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        window.innerWidth,
      ]);
      assert.ok(
        scrollWidth <= innerWidth,
        `${route} at ${viewport.width} px is ${scrollWidth} px wide`,
      );
    }
    await context.close();
  }
});

test('choosing a status with the keyboard moves nothing until Move, and Released asks first', async () => {
  const rita = await dashboardAs('rita');
  const posts = [];
  rita.page.on('request', (request) => { if (request.method() === 'POST') posts.push(request.url()); });
  const item = 'api-analytics-endpoints';
  const card = () => rita.page.locator(`[data-item="${item}"]`);
  const before = await column(rita.page, item);

  // Arrow keys on a closed select fire `change` in Chromium: that must not write.
  await card().locator('select[data-move]').focus();
  await rita.page.keyboard.press('ArrowUp');
  await rita.page.evaluate(() => fetch('/healthz'));
  assert.deepEqual(posts, [], 'no write on an arrow key');
  assert.equal(await column(rita.page, item), before);

  // Move writes; keyboard focus stays on the item's card after the live re-render.
  await card().locator('select[data-move]').selectOption('testing');
  await card().getByRole('button', { name: 'Move' }).focus();
  await rita.page.keyboard.press('Enter');
  await rita.page.waitForFunction(
    (name) => document.querySelector(`[data-item="${name}"]`)?.closest('[data-column]')?.dataset.column === 'testing',
    item,
  );
  await rita.page.locator('#flash').filter({ hasText: `Moved ${item}` }).waitFor();
  assert.equal(
    await rita.page.evaluate(() => document.activeElement?.closest('[data-item]')?.dataset.item),
    item,
    'focus stays on the moved card',
  );

  // Released is final: the move asks, saying so, and declining changes nothing.
  await card().locator('select[data-move]').selectOption('released');
  const declined = new Promise((resolve) => rita.page.once('dialog', async (dialog) => {
    resolve(dialog.message());
    await dialog.dismiss();
  }));
  await card().getByRole('button', { name: 'Move' }).click();
  assert.match(await declined, /final/);
  await rita.page.evaluate(() => fetch('/healthz'));
  assert.equal(posts.length, 1, 'declining wrote nothing');
  assert.equal(await column(rita.page, item), 'testing');

  assert.deepEqual(rita.errors, [], 'no script errors for rita');
  await rita.context.close();
});
