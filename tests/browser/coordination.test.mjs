// The coordination page in a real browser: the release manager records the meeting that
// still happened, sees it counted in person-minutes, takes back a typo (it stays, struck
// through, counting nothing) and rates how it went; a viewer reads the figures and gets
// no form.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RELEASE, logIn, serverAndBrowserFor } from './lockstep.mjs';

let server;
let browser;
serverAndBrowserFor((s, b) => { server = s; browser = b; });

async function pageAs(user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await logIn(page, server.url, user, `/releases/${RELEASE}/coordination`);
  return { context, page, errors };
}

const report = (page) => page.evaluate(async (release) =>
  (await fetch(`/api/v1/releases/${release}/coordination`)).json(), RELEASE);

test('rita records a meeting, retracts a typo and rates it, and the figures follow', async () => {
  const { context, page, errors } = await pageAs('rita');
  const before = await report(page);
  const form = page.locator('form[data-coordination-form]');
  await form.getByLabel('Activity').selectOption('call');
  await form.getByLabel('Minutes').fill('25');
  await form.getByLabel('People').fill('4');
  await form.getByLabel('Note').fill('Integration test plan');
  await form.getByRole('button', { name: 'Record' }).click();
  await page.locator('#flash').filter({ hasText: 'Recorded 25 min × 4' }).waitFor();
  const row = page.locator('#live tr').filter({ hasText: 'Integration test plan' });
  await row.waitFor();
  assert.match(await row.textContent(), /call.*25.*4.*100/);
  assert.equal(await form.getByLabel('Minutes').inputValue(), '', 'the form is ready for the next');
  const after = await report(page);
  assert.equal(after.recordedMinutes, before.recordedMinutes + 100);

  // A typo, taken back after a confirmation: it stays on the page, counting nothing.
  await form.getByLabel('Minutes').fill('600');
  await form.getByRole('button', { name: 'Record' }).click();
  await page.locator('#flash').filter({ hasText: 'Recorded 600 min' }).waitFor();
  const typo = after.entries.length + 1;
  page.once('dialog', (dialog) => dialog.accept());
  await page.locator(`button[data-retract][data-number="${typo}"]`).click();
  await page.locator('tr.retracted').filter({ hasText: 'retracted by rita' }).waitFor();
  assert.equal((await report(page)).recordedMinutes, after.recordedMinutes);
  const kpi = await page.locator('.kpi').first().textContent();
  assert.match(kpi, /person-minutes in all \(aim: 15\)/);

  // And how it went: a rating with its reason, shown on the page.
  const rating = page.locator('form[data-rating-form]');
  await rating.getByLabel(/Score/).selectOption('4');
  await rating.getByLabel('Why').fill('One call instead of three');
  await rating.getByRole('button', { name: 'Rate' }).click();
  await page.locator('#flash').filter({ hasText: 'Rated 4 of 5' }).waitFor();
  await page.locator('#live li').filter({ hasText: 'One call instead of three' }).waitFor();
  assert.equal((await report(page)).ratings.find((r) => r.by === 'rita').score, 4);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a viewer reads the coordination figures and gets no form', async () => {
  const { context, page, errors } = await pageAs('viewer');
  await page.locator('h2').filter({ hasText: 'In Lockstep' }).waitFor();
  assert.equal(await page.locator('form[data-coordination-form]').count(), 0);
  assert.equal(await page.locator('button[data-retract]').count(), 0);
  assert.equal(await page.locator('form[data-rating-form]').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
