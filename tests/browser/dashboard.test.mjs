// The dashboard in a real browser (Debian's headless Chromium): log in, move an item on
// the board, watch a second signed-in browser follow live over server-sent events without
// a reload, and see a move the role forbids refused with a visible message.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEMO_PASSWORD, RELEASE, logIn, serverAndBrowserFor } from './lockstep.mjs';

let server;
let browser;
serverAndBrowserFor((s, b) => { server = s; browser = b; });

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
  await mike.page.waitForFunction(
    (name) => document.querySelector(`[data-item="${name}"]`)?.closest('[data-column]')?.dataset.column === 'ready-for-release',
    item,
    { timeout: 5_000 },
  );

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
  const asked = [];
  rita.page.once('dialog', (dialog) => { asked.push(dialog.message()); dialog.dismiss(); });
  await card().getByRole('button', { name: 'Move' }).click();
  assert.match(asked[0] ?? '', /final/);
  await rita.page.evaluate(() => fetch('/healthz'));
  assert.equal(posts.length, 1, 'declining wrote nothing');
  assert.equal(await column(rita.page, item), 'testing');

  assert.deepEqual(rita.errors, [], 'no script errors for rita');
  await rita.context.close();
});

/** Tells the page it was hidden or shown, as the browser does on a tab switch (headless
 * tabs are never hidden on their own). */
const setVisibility = (page, state) =>
  page.evaluate((visibility) => {
    Object.defineProperty(document, 'visibilityState', { value: visibility, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);

/** A write by rita through the API, outside any page. */
async function ritaWrites(path, body) {
  const basic = Buffer.from(`rita:${DEMO_PASSWORD}`).toString('base64');
  const exchange = await fetch(`${server.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'browser test' }),
  });
  const { token } = await exchange.json();
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(response.ok, `${path}: ${response.status}`);
}

test('hidden tabs give their live connection back, so a seventh tab loads, and catch up when shown', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const first = await context.newPage();
  await logIn(first, server.url, 'rita', `/releases/${RELEASE}`);
  const tabs = [first];
  for (let n = 1; n < 6; n += 1) {
    const tab = await context.newPage();
    await tab.goto(`${server.url}/releases/${RELEASE}`);
    tabs.push(tab);
  }
  for (const tab of tabs) {
    await tab.waitForSelector('body[data-live="connected"]', { timeout: 10_000 });
    await setVisibility(tab, 'hidden');
    await tab.waitForSelector('body[data-live="closed"]');
  }
  // Six open streams would hold every connection Chromium gives the host.
  const seventh = await context.newPage();
  await seventh.goto(`${server.url}/releases/${RELEASE}`, { timeout: 10_000 });
  await seventh.waitForSelector('body[data-live="connected"]', { timeout: 10_000 });

  // A change made while the first tab was hidden shows once it is shown again.
  const item = 'mobile-analytics-view';
  const to = (await column(first, item)) === 'testing' ? 'staging' : 'testing';
  await ritaWrites(`/api/v1/items/${item}/status`, { status: to });
  await setVisibility(first, 'visible');
  await first.waitForSelector('body[data-live="connected"]', { timeout: 10_000 });
  await first.waitForFunction(
    ([name, wanted]) => document.querySelector(`[data-item="${name}"]`)?.closest('[data-column]')?.dataset.column === wanted,
    [item, to],
    { timeout: 5_000 },
  );
  await context.close();
});

test('a page whose session ended says so instead of going stale', async () => {
  const rita = await dashboardAs('rita');
  // Signing out in another tab of the same browser ends the session of both.
  const other = await rita.context.newPage();
  await other.goto(`${server.url}/calendar`);
  await Promise.all([
    other.waitForURL((url) => url.pathname.startsWith('/login')),
    other.getByRole('button', { name: 'Log out' }).click(),
  ]);
  const notice = rita.page.locator('#signed-out');
  assert.equal(await notice.count(), 0);
  // A write answers 401: the page says it is signed out, with a way back.
  const card = rita.page.locator('[data-item="api-analytics-endpoints"]');
  await card.locator('select[data-move]').selectOption('planning');
  await card.getByRole('button', { name: 'Move' }).click();
  await notice.waitFor({ timeout: 5_000 });
  assert.match(await notice.textContent(), /Signed out/);
  assert.equal(await notice.getByRole('link', { name: 'Reload to sign in' }).count(), 1);
  assert.equal(await rita.page.getAttribute('body', 'data-live'), 'signed-out');

  // The stream refused on reconnecting (hidden, then shown) says the same.
  const again = await browser.newContext();
  const page = await again.newPage();
  await logIn(page, server.url, 'rita', `/releases/${RELEASE}`);
  await page.waitForSelector('body[data-live="connected"]', { timeout: 10_000 });
  await setVisibility(page, 'hidden');
  await again.clearCookies();
  await setVisibility(page, 'visible');
  await page.locator('#signed-out').waitFor({ timeout: 5_000 });
  assert.deepEqual(rita.errors, [], 'no script errors');
  await again.close();
  await rita.context.close();
});

test('a live update keeps the checklist sections the reader opened or closed', async () => {
  const rita = await dashboardAs('rita');
  const sections = rita.page.locator('#live details');
  assert.ok(await sections.count() > 1, 'the release page has checklist sections');
  // Flip every section from the way the server renders it.
  const flipped = await sections.evaluateAll((all) => all.map((details) => {
    details.open = !details.open;
    return details.open;
  }));
  const y = await rita.page.evaluate(() => { window.scrollTo(0, 400); return window.scrollY; });
  await ritaWrites('/api/v1/items/mobile-analytics-view/updates', {
    date: new Date().toISOString().slice(0, 10),
    text: 'live update while reading the checklist',
  });
  await rita.page.locator('#live-status').filter({ hasText: 'Updated' }).waitFor({ state: 'attached', timeout: 5_000 });
  assert.deepEqual(await sections.evaluateAll((all) => all.map((details) => details.open)), flipped);
  assert.equal(await rita.page.evaluate(() => window.scrollY), y, 'the page did not jump');
  assert.deepEqual(rita.errors, [], 'no script errors');
  await rita.context.close();
});
