// Shared by the browser tests and scripts/screenshots.mjs: start a real `lockstep serve
// --demo` on a free port with its own database, launch Debian's Chromium, log in.
//
// Nothing here downloads a browser: playwright-core drives /usr/bin/chromium (override
// with CHROMIUM), and the binary is the debug build (override with LOCKSTEP_BIN).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

export const DEMO_PASSWORD = 'lockstep-demo';
export const RELEASE = 'q1-2025';

/** The `lockstep` debug binary: LOCKSTEP_BIN, else $CARGO_TARGET_DIR/debug/lockstep. */
export function binary() {
  if (process.env.LOCKSTEP_BIN) return process.env.LOCKSTEP_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
  return path.join(target, 'debug', 'lockstep');
}

/** Starts `lockstep serve --demo`; resolves to { url, databaseUrl, stop }. The CLI
 * pointed at `databaseUrl` writes the log the server follows. */
export async function startServer() {
  const dir = mkdtempSync(path.join(tmpdir(), 'lockstep-browser-'));
  const databaseUrl = `sqlite://${dir}/demo.db`;
  const child = spawn(
    binary(),
    ['serve', '--demo', '--listen', '127.0.0.1:0', '--database-url', databaseUrl],
    {
      env: { ...process.env, LOCKSTEP_LOG: process.env.LOCKSTEP_LOG || 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the server printed no address in 30 s')), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the server exited early with ${code}`)));
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = buffered.match(/running on (http:\/\/[^/\s]+)\//);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout.resume();
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, databaseUrl, stop };
}

/** Debian's headless Chromium. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Logs `user` in through the login form of a fresh page; resolves once signed in. */
export async function logIn(page, baseUrl, user, next = '/') {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
}

/**
 * For a test file: one server and one browser, started before its tests and stopped
 * after them; `use(server, browser)` receives them once started.
 */
export function serverAndBrowserFor(use) {
  let server;
  let browser;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    use(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}
