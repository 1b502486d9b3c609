// Change requests in a real browser: the demo's open request (Mike's API slip) shows its
// impact; the requester may withdraw but not approve; a release manager's rejection
// needs a reason (none sends nothing) and her approval applies the slip at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { logIn, serverAndBrowserFor } from './lockstep.mjs';

let server;
let browser;
serverAndBrowserFor((s, b) => { server = s; browser = b; });

async function changePageAs(user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await logIn(page, server.url, user, '/changes');
  await page.getByRole('link', { name: 'cr-1' }).click();
  await page.waitForURL((url) => url.pathname === '/changes/cr-1');
  return { context, page, errors };
}

test('rita approves the API slip from its page after reading its impact', async () => {
  const mike = await changePageAs('mike');
  const impact = await mike.page.locator('#impact').textContent();
  assert.match(impact, /frontend-dashboard becomes at risk/);
  assert.match(impact, /Teams to tell/);
  assert.equal(await mike.page.getByRole('button', { name: 'Approve and apply' }).count(), 0,
    'the requester does not approve');
  assert.equal(await mike.page.getByRole('button', { name: 'Withdraw' }).count(), 1);

  const rita = await changePageAs('rita');
  const eta = () => rita.page.evaluate(async () =>
    (await (await fetch("/api/v1/items/api-analytics-endpoints")).json()).item.eta);
  const before = await eta();
  assert.ok(before, 'the item has an ETA to move');
  // A rejection without a reason sends nothing.
  rita.page.once('dialog', (dialog) => dialog.accept(''));
  await rita.page.getByRole('button', { name: 'Reject' }).click();
  await rita.page.evaluate(() => fetch('/healthz'));
  assert.equal(await rita.page.locator('.decision').count(), 0);

  rita.page.once('dialog', (dialog) => dialog.accept('agreed in the weekly sync'));
  await rita.page.getByRole('button', { name: 'Approve and apply' }).click();
  await rita.page.locator('#flash').filter({ hasText: 'cr-1: approve' }).waitFor();
  await rita.page.locator('.decision').filter({ hasText: 'Approved and applied by rita' }).waitFor();
  assert.match(await rita.page.locator('.decision').textContent(), /agreed in the weekly sync/);
  assert.notEqual(await eta(), before, 'the slip is applied');
  assert.equal(await rita.page.getByRole('button', { name: 'Approve and apply' }).count(), 0);
  assert.deepEqual([...mike.errors, ...rita.errors], []);
  await mike.context.close();
  await rita.context.close();
});
