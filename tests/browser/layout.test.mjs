// The page frame in a real browser (Debian's headless Chromium): the login form, the
// icon, the navigation, and pages that must fit a phone.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RELEASE, logIn, serverAndBrowserFor } from './lockstep.mjs';

let server;
let browser;
serverAndBrowserFor((s, b) => { server = s; browser = b; });

const PHONE = { width: 390, height: 844 };

async function pageWidth(page) {
  return page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
}

test('a wrong password keeps the user name and asks for the password again', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await page.getByLabel('User name').fill('mike');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong' }).waitFor();
  assert.equal(await page.getByLabel('User name').inputValue(), 'mike');
  assert.equal(await page.getByLabel('Password').inputValue(), '');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
  await context.close();
});

test('every page has an icon, and no request for one fails', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const failed = [];
  page.on('response', (response) => { if (response.status() === 404) failed.push(response.url()); });
  await logIn(page, server.url, 'viewer', `/releases/${RELEASE}`);
  const href = await page.locator('link[rel="icon"]').getAttribute('href');
  const icon = await page.request.get(new URL(href, server.url).href);
  assert.equal(icon.status(), 200);
  assert.match(icon.headers()['content-type'], /^image\/svg\+xml/);
  const ico = await page.request.get(`${server.url}/favicon.ico`);
  assert.equal(ico.status(), 200);
  assert.deepEqual(failed, []);
  await context.close();
});

test('the navigation marks the current page', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await logIn(page, server.url, 'viewer', '/calendar');
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.deepEqual(
    await nav.locator('[aria-current="page"]').allTextContents(),
    ['Calendar'],
  );
  const [current, other] = await Promise.all([
    nav.getByRole('link', { name: 'Calendar' }).evaluate((a) => getComputedStyle(a).boxShadow),
    nav.getByRole('link', { name: 'Releases' }).evaluate((a) => getComputedStyle(a).boxShadow),
  ]);
  assert.notEqual(current, other, 'the current page looks different');
  await page.goto(`${server.url}/`);
  assert.deepEqual(await nav.locator('[aria-current="page"]').allTextContents(), ['Releases']);
  await context.close();
});

test('the runbook page and the calendar links fit a phone', async () => {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  await logIn(page, server.url, 'rita', `/releases/${RELEASE}/run`);
  let [scrollWidth, innerWidth] = await pageWidth(page);
  assert.ok(scrollWidth <= innerWidth, `the runbook page is ${scrollWidth} px wide`);

  // The demo release is no-go: the start asks for the reason that overrides it.
  page.once('dialog', (dialog) => dialog.accept('layout check on a phone'));
  await page.getByRole('button', { name: 'Start a run' }).click();
  await page.locator('table[data-phase="deploy"]').waitFor({ timeout: 5_000 });
  [scrollWidth, innerWidth] = await pageWidth(page);
  assert.ok(scrollWidth <= innerWidth, `the runbook page with a run is ${scrollWidth} px wide`);
  // Every step's buttons are on screen, not in a column scrolled out of view.
  const buttons = page.locator('table[data-phase="deploy"] button');
  assert.ok(await buttons.count() > 0);
  for (const box of await buttons.evaluateAll((all) => all.map((b) => b.getBoundingClientRect().toJSON()))) {
    assert.ok(box.right <= innerWidth, `a step button ends at ${box.right} px`);
  }

  await page.goto(`${server.url}/feeds?release=${RELEASE}`);
  await page.getByRole('button', { name: 'Make my calendar link' }).click();
  await page.getByRole('heading', { name: 'Your calendar links' }).waitFor();
  [scrollWidth, innerWidth] = await pageWidth(page);
  assert.ok(scrollWidth <= innerWidth, `the calendar links page is ${scrollWidth} px wide`);
  await context.close();
});

test('the calendar shows the blackout and pages through periods on a phone', async () => {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  await logIn(page, server.url, 'viewer', '/calendar');
  const blackout = page.locator('tr[data-kind="blackout"]', { hasText: 'Data-centre network maintenance' });
  await blackout.waitFor();
  assert.match(await blackout.textContent(), /production/);
  assert.equal(await page.locator('#conflicts .badge').textContent(), '0');
  assert.equal(await page.locator('tr[data-kind="deployment"]').count(), 1);
  const [scrollWidth, innerWidth] = await pageWidth(page);
  assert.ok(scrollWidth <= innerWidth, `the calendar page is ${scrollWidth} px wide`);
  const from = await page.getByLabel('From').inputValue();
  await Promise.all([page.waitForURL(/from=/), page.getByRole('link', { name: 'Later' }).click()]);
  assert.ok((await page.getByLabel('From').inputValue()) > from, 'Later moves the period on');
  // The demo release's window is clear, so its page warns of nothing.
  await page.goto(`${server.url}/releases/${RELEASE}`);
  assert.equal(await page.locator('#calendar-conflicts').count(), 0);
  await context.close();
});
