// The item page in a real browser: the API lead previews what moving his ETA would put at
// risk (nothing is written), keeps what he typed while the page refreshes under him,
// moves the ETA, posts a status note and moves the status; a viewer gets no forms.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { logIn, serverAndBrowserFor } from './lockstep.mjs';

let server;
let browser;
serverAndBrowserFor((s, b) => { server = s; browser = b; });

const ITEM = 'api-analytics-endpoints';

async function itemPageAs(user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await logIn(page, server.url, user, `/items/${ITEM}`);
  return { context, page, errors };
}

const readItem = (page) => page.evaluate(async (name) =>
  (await (await fetch(`/api/v1/items/${name}`)).json()).item, ITEM);

function daysAfter(date, days) {
  const at = new Date(`${date}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

test('mike previews a slip, keeps his typing through a refresh, then moves the ETA', async () => {
  const { context, page, errors } = await itemPageAs('mike');
  const before = await readItem(page);
  const slipped = daysAfter(before.spec.due, 2);
  const update = page.locator('#item-update');
  await update.getByLabel('ETA').fill(slipped);
  await update.getByLabel('Why').fill('pipeline migration slipped');

  await update.getByRole('button', { name: 'Preview' }).click();
  const impact = update.locator('[data-eta-impact]');
  await impact.filter({ hasText: 'becomes at risk' }).waitFor();
  const said = await impact.textContent();
  assert.match(said, /frontend-dashboard becomes at risk: .*ETA .* > need-by/);
  assert.match(said, /mobile-analytics-view becomes at risk/);
  assert.match(said, /Teams to tell: .*frontend/);
  assert.equal((await readItem(page)).eta, before.eta, 'a preview writes nothing');

  // Someone changes the program: the page refreshes, and the form keeps what was typed.
  await page.evaluate(async (name) => {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    await fetch(`/api/v1/items/${name}/updates`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ date: '2026-01-01', text: 'Load test booked' }),
    });
  }, ITEM);
  await page.locator('.activity').first().filter({ hasText: 'Load test booked' }).waitFor();
  assert.equal(await update.getByLabel('Why').inputValue(), 'pipeline migration slipped');
  assert.equal(await update.getByLabel('ETA').inputValue(), slipped);

  await update.getByRole('button', { name: 'Move the ETA' }).click();
  await page.locator('#flash').filter({ hasText: `moved to ${slipped}` }).waitFor();
  assert.equal((await readItem(page)).eta, slipped);
  await page.locator('h2').filter({ hasText: 'Why' }).waitFor();
  assert.equal(await update.getByLabel('Why').inputValue(), '', 'the reason was used');

  await update.getByLabel('Status note').fill('Migration rerun tonight');
  await update.getByRole('button', { name: 'Post' }).click();
  await page.locator('.activity').first().filter({ hasText: 'Migration rerun tonight' }).waitFor();
  // The status moves from here too, as on the board.
  await page.getByLabel('Move API: Analytics endpoints').selectOption('ready-for-release');
  await page.getByRole('button', { name: 'Move', exact: true }).click();
  await page.locator('#flash').filter({ hasText: 'to Ready for Release' }).waitFor();
  await page.locator('.kpi').filter({ hasText: 'Ready for Release' }).waitFor();
  assert.equal((await readItem(page)).status, 'ready-for-release');

  const history = await page.evaluate(async () =>
    (await (await fetch('/api/v1/history?last=5')).json()).items.map((e) => e.summary));
  assert.ok(history.some((s) => s.includes(`eta `) && s.includes(slipped)), JSON.stringify(history));
  assert.deepEqual(errors, []);
  await context.close();
});

test('a viewer reads the item without the forms', async () => {
  const { context, page, errors } = await itemPageAs('viewer');
  await page.locator('h1').waitFor();
  assert.equal(await page.locator('#item-update').count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Move', exact: true }).count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
