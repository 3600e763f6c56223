// Helpers shared by the browser checks: checks in words, waiting, the API, and a page in
// headless Chromium that records every console error and failed request.
import { chromium } from 'playwright-core';

export function check(condition, message) {
  if (!condition) throw new Error('FAILED: ' + message);
  console.log('ok - ' + message);
}

/// Waits for `fn` to be true in the page, failing with `what` in words.
export async function waitFor(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: 20000 });
  } catch (e) {
    throw new Error('FAILED: waiting for ' + what + ' (' + e.message.split('\n')[0] + ')');
  }
}

/// A function reading JSON from the server at `base`.
export function jsonGetter(base) {
  return async (path) => {
    const r = await fetch(base + path);
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/// A page of a laptop-sized window whose console errors and failed requests go to `problems`.
export async function openPage(browser, problems) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push('HTTP ' + r.status() + ': ' + r.url());
  });
  page.on('requestfailed', (r) => {
    // Tile requests a zoom change made obsolete are cancelled by MapLibre on purpose.
    if (!/net::ERR_ABORTED/.test(r.failure()?.errorText || '')) {
      problems.push('request failed: ' + r.url() + ' ' + r.failure()?.errorText);
    }
  });
  return page;
}

/// Runs `checks(page, problems)` in a fresh headless Chromium, then checks that the page
/// logged no error; exits non-zero with the failed check in words.
export async function run(checks) {
  const browser = await launch();
  const problems = [];
  let failed = false;
  try {
    const page = await openPage(browser, problems);
    await checks(page, problems);
    check(problems.length === 0, `no console errors (${problems.join(' | ') || 'none'})`);
  } catch (e) {
    failed = true;
    console.error(e.message);
    if (problems.length) console.error('browser problems: ' + problems.join(' | '));
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}
