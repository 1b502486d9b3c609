// The runbook page in a real browser (Debian's headless Chromium): from the release page
// to its runbook, start a run, drive a step through its states with the buttons, watch
// a second browser follow live over server-sent events, and see an out-of-order start
// refused with a visible message (and nothing changed).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

import { RELEASE, binary, logIn, serverAndBrowserFor } from './lockstep.mjs';

let server;
let browser;
serverAndBrowserFor((s, b) => { server = s; browser = b; });

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
  // The empty state names the release, not a placeholder.
  assert.match(await rita.page.locator('#live').textContent(), new RegExp(`lockstep run start ${RELEASE}`));
  assert.doesNotMatch(await rita.page.locator('#live').textContent(), /RELEASE/);
  // Only a release manager may start a run.
  assert.equal(await mike.page.getByRole('button', { name: 'Start a run' }).count(), 0);

  // The demo release is no-go, as the release page shows: starting asks for the
  // break-glass reason that overrides the verdict; no reason starts nothing.
  const verdict = await rita.page.evaluate(async (release) => {
    const html = await (await fetch(`/releases/${release}`)).text();
    return new DOMParser().parseFromString(html, 'text/html').querySelector('#gonogo-h .badge').textContent;
  }, RELEASE);
  assert.match(verdict, /no-go/i);
  const asked = [];
  rita.page.once('dialog', (dialog) => { asked.push(dialog.message()); dialog.dismiss(); });
  await rita.page.getByRole('button', { name: 'Start a run' }).click();
  await rita.page.evaluate(() => fetch('/healthz'));
  assert.match(asked[0], new RegExp(`^Go/no-go is NO-GO: a production run of ${RELEASE} starts only with a break-glass reason`));
  assert.equal(await rita.page.locator('table[data-phase="deploy"]').count(), 0, 'no reason starts no run');
  rita.page.once('dialog', (dialog) => dialog.accept('dress rehearsal on the demo'));
  await rita.page.getByRole('button', { name: 'Start a run' }).click();
  await rita.page.locator('#flash').filter({ hasText: 'Run started' }).waitFor();
  await waitForStatus(rita.page, 'data-pipeline', 'pending');
  await waitForStatus(mike.page, 'data-pipeline', 'pending');

  // The diagram follows each step's `after`: the frontend and the mobile app both wait
  // on the API, side by side, and neither on the other.
  const diagram = rita.page.locator('svg.run-strip');
  const edges = await diagram.locator('path[data-from]')
    .evaluateAll((paths) => paths.map((p) => `${p.dataset.from}->${p.dataset.to}`).sort());
  assert.deepEqual(edges, [
    'analytics-api->dashboard-ui',
    'analytics-api->mobile-app',
    'data-pipeline->analytics-api',
  ]);
  const box = (step) => diagram.locator(`g[data-step="${step}"] rect`).boundingBox();
  const [api, ui, mobile] = [await box('analytics-api'), await box('dashboard-ui'), await box('mobile-app')];
  assert.equal(ui.x, mobile.x, 'parallel steps share a column');
  assert.ok(ui.x > api.x, 'and stand right of what they wait for');
  assert.notEqual(ui.y, mobile.y);
  await mike.page.evaluate(() => { window.__notReloaded = true; });

  const row = rita.page.locator('table[data-phase="deploy"] tr[data-step="data-pipeline"]');
  for (const [label, status] of [['Start', 'running'], ['Verify', 'verifying'], ['Done', 'done']]) {
    await row.getByRole('button', { name: label }).click();
    await waitForStatus(rita.page, 'data-pipeline', status);
    await waitForStatus(mike.page, 'data-pipeline', status);
  }
  assert.equal(await mike.page.evaluate(() => window.__notReloaded), true, 'mike\'s page was not reloaded');
  assert.match(await row.textContent(), /done by rita/);

  // The frontend step waits for the API: its Start is disabled and says why.
  const frontend = rita.page.locator('table[data-phase="deploy"] tr[data-step="dashboard-ui"]');
  const start = frontend.getByRole('button', { name: 'Start' });
  assert.equal(await start.isDisabled(), true);
  assert.match(await start.getAttribute('title'), /cannot start before analytics-api is done/);
  // Forced anyway, the server refuses it, visibly, with names as code (no backticks),
  // and nothing moves.
  await start.evaluate((button) => { button.disabled = false; button.click(); });
  const flash = rita.page.locator('#flash');
  await flash.filter({ hasText: 'Refused' }).waitFor();
  assert.match(await flash.textContent(), /cannot start before analytics-api is done/);
  assert.deepEqual(await flash.locator('code').allTextContents(), ['dashboard-ui', 'analytics-api']);
  assert.equal(await stepStatus(rita.page, 'dashboard-ui'), 'pending');

  // mike (API team) gets buttons for his team's step only; the viewer gets none.
  const mikeButtons = await mike.page.locator('table[data-phase="deploy"] tr[data-step] button')
    .evaluateAll((buttons) => [...new Set(buttons.map((b) => b.closest('tr').dataset.step))]);
  assert.deepEqual(mikeButtons, ['analytics-api']);
  const viewer = await runPageAs('viewer');
  assert.equal(await viewer.page.locator('#live button').count(), 0);
  await viewer.context.close();

  assert.deepEqual(rita.errors, [], 'no script errors for rita');
  assert.deepEqual(mike.errors, [], 'no script errors for mike');
  await rita.context.close();
  await mike.context.close();
});

// A signal about analytics-api in production, through the CLI on the server's database
// (the server follows the log).
function signal(...args) {
  execFileSync(binary(), [
    'signal', 'record', ...args, 'analytics-api', '--environment', 'production',
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

  // A P0 bug trips a trigger at once (an error rate needs ten minutes of samples, and
  // signals dated ahead of the clock are refused); the page shows it and offers the rollback.
  signal('bugs', '--critical', '1', '--delivery', 'browser-p0-1');
  await rita.page.locator('.tripped').filter({ hasText: 'p0-bug' }).waitFor({ timeout: 5_000 });
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
