// The runbook page in a real browser (Debian's headless Chromium): from the release page
// to its runbook, start a run, drive a step through its states with the buttons, watch
// a second browser follow live over server-sent events, and see an out-of-order start
// refused with a visible message (and nothing changed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { RELEASE, launchBrowser, logIn, startServer } from './lockstep.mjs';

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

async function runPageAs(user) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await logIn(page, server.url, user, `/releases/${RELEASE}`);
  await page.getByRole('link', { name: 'Runbook and deployment run' }).click();
  await page.waitForURL((url) => url.pathname === `/releases/${RELEASE}/run`);
  await page.waitForSelector('body[data-live="connected"]', { timeout: 10_000 });
  return { context, page, errors };
}

const stepStatus = (page, step) =>
  page.locator(`table[data-phase="deploy"] tr[data-step="${step}"]`).getAttribute('data-status');

const waitForStatus = (page, step, status) =>
  page.waitForFunction(
    ([name, wanted]) =>
      document.querySelector(`table[data-phase="deploy"] tr[data-step="${name}"]`)?.dataset.status === wanted,
    [step, status],
    { timeout: 5_000 },
  );

test('rita drives the backend step through the dashboard while mike watches it live', async () => {
  const rita = await runPageAs('rita');
  const mike = await runPageAs('mike');
  // The runbook is shown in the seed's layout before any run.
  assert.match(await rita.page.locator('pre.runbook').textContent(), /1\. Backend services \(Team C\)/);

  await rita.page.getByRole('button', { name: 'Start a run' }).click();
  await rita.page.locator('#flash').filter({ hasText: 'Run started' }).waitFor();
  await waitForStatus(rita.page, 'data-pipeline', 'pending');
  await waitForStatus(mike.page, 'data-pipeline', 'pending');
  await mike.page.evaluate(() => { window.__notReloaded = true; });

  const row = rita.page.locator('table[data-phase="deploy"] tr[data-step="data-pipeline"]');
  for (const [label, status] of [['Start', 'running'], ['Verify', 'verifying'], ['Done', 'done']]) {
    await row.getByRole('button', { name: label }).click();
    await waitForStatus(rita.page, 'data-pipeline', status);
    await waitForStatus(mike.page, 'data-pipeline', status);
  }
  assert.equal(await mike.page.evaluate(() => window.__notReloaded), true, 'mike\'s page was not reloaded');
  assert.match(await row.textContent(), /done by rita/);

  // The frontend step waits for the API: starting it is refused, visibly, and nothing moves.
  const frontend = rita.page.locator('table[data-phase="deploy"] tr[data-step="dashboard-ui"]');
  await frontend.getByRole('button', { name: 'Start' }).click();
  const flash = rita.page.locator('#flash');
  await flash.filter({ hasText: 'Refused' }).waitFor();
  assert.match(await flash.textContent(), /cannot start before `analytics-api` is done/);
  assert.equal(await stepStatus(rita.page, 'dashboard-ui'), 'pending');

  assert.deepEqual(rita.errors, [], 'no script errors for rita');
  assert.deepEqual(mike.errors, [], 'no script errors for mike');
  await rita.context.close();
  await mike.context.close();
});
