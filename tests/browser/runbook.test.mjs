// The runbook page in a real browser (Debian's headless Chromium): from the release page
// to its runbook, start a run, drive a step through its states with the buttons, watch
// a second browser follow live over server-sent events, and see an out-of-order start
// refused with a visible message (and nothing changed).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { RELEASE, binary, launchBrowser, logIn, startServer } from './lockstep.mjs';

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

// An error-rate sample for analytics-api in production, through the CLI on the
// server's database (the server follows the log), `minutes` from now.
function errorRate(delivery, percent, minutes) {
  const at = new Date(Date.now() + minutes * 60_000).toISOString();
  execFileSync(binary(), [
    'signal', 'record', 'error-rate', 'analytics-api', '--environment', 'production',
    '--percent', String(percent), '--delivery', delivery, '--at', at,
  ], { env: { ...process.env, LOCKSTEP_DATABASE_URL: server.databaseUrl, LOCKSTEP_LOG: 'warn' } });
}

test('the rest of the day: a tripped trigger and a rollback in reverse order, all from the dashboard', async () => {
  const rita = await runPageAs('rita');
  const deploy = (step) => rita.page.locator(`table[data-phase="deploy"] tr[data-step="${step}"]`);
  // The first test left the backend done; the API follows, then the frontend starts.
  for (const [label, status] of [['Start', 'running'], ['Verify', 'verifying'], ['Done', 'done']]) {
    await deploy('analytics-api').getByRole('button', { name: label }).click();
    await waitForStatus(rita.page, 'analytics-api', status);
  }
  await deploy('dashboard-ui').getByRole('button', { name: 'Start' }).click();
  await waitForStatus(rita.page, 'dashboard-ui', 'running');

  // Above 5% for ten minutes trips the trigger; the page shows it and offers the rollback.
  errorRate('browser-err-1', 9, 1);
  errorRate('browser-err-2', 9, 12);
  await rita.page.locator('.tripped').filter({ hasText: 'error-rate' }).waitFor({ timeout: 5_000 });
  await rita.page.getByRole('button', { name: 'Start rollback' }).click();
  await rita.page.locator('table[data-phase="rollback"]').waitFor({ timeout: 5_000 });

  // What was deployed comes back out in reverse dependency order: the API before the
  // backend it depends on.
  const order = await rita.page.locator('table[data-phase="rollback"] tr[data-step]')
    .evaluateAll((rows) => rows.map((row) => row.dataset.step));
  assert.ok(order.indexOf('analytics-api') < order.indexOf('data-pipeline'), `rollback order ${order}`);
  assert.equal(order.at(-1), 'data-pipeline', `rollback order ${order}`);
  for (const step of order) {
    const row = () => rita.page.locator(`table[data-phase="rollback"] tr[data-step="${step}"]`);
    for (const [label, status] of [['Start', 'running'], ['Verify', 'verifying'], ['Done', 'done']]) {
      await row().getByRole('button', { name: label }).click();
      await rita.page.waitForFunction(
        ([name, wanted]) => document.querySelector(`table[data-phase="rollback"] tr[data-step="${name}"]`)?.dataset.status === wanted,
        [step, status],
        { timeout: 5_000 },
      );
    }
  }
  await rita.page.locator('[data-run-status="rolled-back"]').waitFor({ timeout: 5_000 });
  assert.deepEqual(rita.errors, [], 'no script errors for rita');
  await rita.context.close();
});
