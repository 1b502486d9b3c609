// A calendar conflict resolved from the dashboard: a blackout lands on the demo release's
// deployment day (applied through the CLI on the server's database); the calendar and the
// release page show the conflict with its proposed move; Mike proposes the move with one
// button, which opens the change request; Rita approves it and the conflict is gone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { RELEASE, binary, logIn, serverAndBrowserFor } from './lockstep.mjs';

let server;
let browser;
serverAndBrowserFor((s, b) => { server = s; browser = b; });

async function pageAs(user, next) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await logIn(page, server.url, user, next);
  return { context, page, errors };
}

// A blackout over the whole of `day` in production, in the deployment's time zone.
function blackOut(day, timeZone) {
  const dir = mkdtempSync(path.join(tmpdir(), 'lockstep-blackout-'));
  const file = path.join(dir, 'blackout.yaml');
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  writeFileSync(file, [
    'apiVersion: lockstep.dev/v1',
    'kind: Blackout',
    'metadata: {name: emergency-change-freeze}',
    'spec:',
    '  title: Emergency change freeze',
    `  timeZone: ${timeZone}`,
    `  start: ${day}T00:00:00`,
    `  end: ${next.toISOString().slice(0, 10)}T00:00:00`,
    '  environments: [production]',
    '  reason: an incident elsewhere froze production',
    '',
  ].join('\n'));
  try {
    execFileSync(binary(), ['apply', '-f', file], {
      env: { ...process.env, LOCKSTEP_DATABASE_URL: server.databaseUrl, LOCKSTEP_LOG: 'warn' },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a conflict is proposed as a move with one button and gone once approved', async () => {
  const mike = await pageAs('mike', `/releases/${RELEASE}`);
  const release = async (page) => page.evaluate(async (name) =>
    (await (await fetch(`/api/v1/releases/${name}`)).json()).spec, RELEASE);
  const before = await release(mike.page);
  await mike.page.waitForSelector('body[data-live="connected"]', { timeout: 10_000 });
  blackOut(before.targetDate, before.deployment.timeZone);

  // The release page says so, live, with the button.
  const panel = mike.page.locator('#calendar-conflicts');
  await panel.waitFor({ timeout: 10_000 });
  assert.match(await panel.textContent(), /Emergency change freeze/);
  assert.equal(await panel.getByRole('button', { name: 'Propose this move' }).count(), 1);

  // The calendar of the release's month lists it; proposing opens the change request.
  await mike.page.goto(`${server.url}/calendar?from=${before.targetDate.slice(0, 8)}01`);
  const conflict = mike.page.locator(`#conflicts li[data-conflict="${RELEASE}"]`);
  assert.match(await conflict.textContent(), /the first day the same window is clear/);
  const to = await conflict.getByRole('button', { name: 'Propose this move' }).getAttribute('data-to');
  mike.page.once('dialog', (dialog) => dialog.accept());
  await Promise.all([
    mike.page.waitForURL((url) => url.pathname.startsWith('/changes/cr-')),
    conflict.getByRole('button', { name: 'Propose this move' }).click(),
  ]);
  const change = new URL(mike.page.url()).pathname.split('/').pop();
  const title = await mike.page.locator('h1').textContent();
  assert.match(title, new RegExp(`Move ${RELEASE} to ${to.replace('T', ' ')}`));
  assert.match(await mike.page.locator('#impact').textContent(),
    new RegExp(`target ${before.targetDate} → ${to.slice(0, 10)}`));

  // Waiting for approval, the calendar links the request instead of offering a second.
  await mike.page.goto(`${server.url}/calendar?from=${before.targetDate.slice(0, 8)}01`);
  assert.equal(await conflict.getByRole('button', { name: 'Propose this move' }).count(), 0);
  assert.match(await conflict.getByRole('link', { name: /waiting for approval/ }).textContent(),
    new RegExp(`Move ${RELEASE}`));

  const rita = await pageAs('rita', `/changes/${change}`);
  rita.page.once('dialog', (dialog) => dialog.accept('out of the freeze'));
  await rita.page.getByRole('button', { name: 'Approve and apply' }).click();
  await rita.page.locator('.decision').filter({ hasText: 'Approved and applied by rita' }).waitFor();
  const after = await release(rita.page);
  assert.equal(after.targetDate, to.slice(0, 10));
  assert.equal(after.deployment.steps[0].at.slice(0, 5), to.slice(11, 16));

  await rita.page.goto(`${server.url}/calendar?from=${before.targetDate.slice(0, 8)}01`);
  assert.equal(await rita.page.locator(`#conflicts li[data-conflict="${RELEASE}"]`).count(), 0);
  assert.deepEqual([...mike.errors, ...rita.errors], []);
  await mike.context.close();
  await rita.context.close();
});
