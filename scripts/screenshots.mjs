// Regenerates the README's screenshots (docs/screenshots/*.png) of the main pages, at a
// laptop and a phone width, from a real `lockstep serve --demo` in Debian's headless
// Chromium.
//
//   cargo build -p lockstep && (cd tests/browser && npm ci) && node scripts/screenshots.mjs
//
// It reuses the browser tests' helpers (and their playwright-core); it never downloads a
// browser. The demo is dated so that its release is in progress today, so dates in the
// pictures move with the day they are taken.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RELEASE, launchBrowser, logIn, startServer } from '../tests/browser/lockstep.mjs';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots');

const PAGES = [
  ['release', `/releases/${RELEASE}`],
  ['team', '/teams/api'],
  ['item', '/items/api-analytics-endpoints'],
  ['releases', '/'],
  ['metrics', '/metrics'],
  ['retrospective', '/releases/q4-2024/retrospective'],
  ['coordination', '/releases/q4-2024/coordination'],
  ['calendar', '/calendar'],
  ['contracts', '/contracts'],
  ['change', '/changes/cr-1'],
];

const WIDTHS = [
  ['', { width: 1280, height: 800 }],
  ['-phone', { width: 390, height: 844 }],
];

mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await launchBrowser();
try {
  for (const [suffix, viewport] of WIDTHS) {
    const context = await browser.newContext({ viewport, isMobile: suffix !== '', hasTouch: suffix !== '' });
    const page = await context.newPage();
    // Signed in as the release manager, as the people who use the board see it.
    await logIn(page, server.url, 'rita');
    for (const [name, route] of PAGES) {
      await page.goto(`${server.url}${route}`, { waitUntil: 'networkidle' }).catch(() => {});
      await page.waitForLoadState('load');
      const file = path.join(out, `${name}${suffix}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`wrote ${path.relative(process.cwd(), file)}`);
    }
    await context.close();
  }
} finally {
  await browser.close();
  await server.stop();
}
